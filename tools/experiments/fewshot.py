"""Few-shot transfer on scikit-learn digits: pretrain on 0-4, learn 5-9 from k images each.

The experiment behind ``tools/fewshot_digits.py``: a MobileNet-v2 (the embedded digits
config, 32 px) is trained on digits 0-4, its backbone is saved as the "pretrained"
checkpoint, and then for each k the network learns digits 5-9 from k training images per
class with each transfer strategy, and from scratch, all with the same number of
optimisation steps. Each run is validated on the val split of digits 5-9 and its best
checkpoint is tested: the score is top-1 on the full test split of digits 5-9.
"""

import copy
import functools
import json
import math
import os
import os.path as osp
import shutil
import statistics
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from mmtl.config.load import load_config, packaged_config_path
from mmtl.config.resolve import DATALOADER_KEYS
from mmtl.config.strategies import apply_strategy
from mmtl.datasets.digits import write_digits_folder
from mmtl.datasets.listing import IMG_EXTENSIONS, list_class_folders, list_image_files
from mmtl.evaluation.metrics.predictions import add_prediction_writer
from mmtl.evaluation.statistics import Comparison, compare_correct
from mmtl.utils.fileio import atomic_open

#: Digits the network is pretrained on, and the new digits it then learns.
SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)

#: The network the experiment runs (the digits config's backbone), for per-architecture
#: strategy fragments (``configs/_base_/strategies/partial_ft_mobilenet_v2.py``).
ARCH = 'mobilenet_v2'

#: Linear-probe lr for the digits config's AdamW: README's few-shot table was measured with it.
#: The fruit configs' 0.1 is 10x their SGD lr: another optimizer, another value.
LINEAR_PROBE_LR = 1e-2

#: LP-FT: the share of the run's epochs spent as a linear probe before the backbone trains.
LP_FT_PROBE_SHARE = 0.25


def apply_fewshot_strategy(cfg: Config, pretrained: Optional[str], name: str) -> None:
    """Apply mmtl's strategy ``name`` to a few-shot run's config, with the recipe's own values.

    Args:
        cfg (Config): The run's config, changed in place.
        pretrained (str, optional): The pretrained backbone checkpoint (``scratch`` drops it).
        name (str): A key of :data:`mmtl.config.strategies.STRATEGIES`.
    """
    cfg.load_from = pretrained
    apply_strategy(cfg, name, ARCH)
    if name == 'linear-probe':
        cfg.optim_wrapper.optimizer.lr = LINEAR_PROBE_LR
    if name == 'lp-ft':
        # The probe takes the first quarter of this run's epochs, however many there are.
        unfreeze = max(2, int(int(cfg.train_cfg.max_epochs) * LP_FT_PROBE_SHARE) + 1)
        cfg.custom_hooks[-1].schedule = [dict(epoch=unfreeze, modules=['backbone'])]


#: Training pipelines of the few-shot runs, applied to every strategy alike (scratch included).
#: ``'default'`` is the digits config's own (crops of 0.8-1.0 of the image); ``'strong'`` adds
#: wider crops and rotations of up to 15 degrees (black, the digits' background, fills the
#: corners). Measured at k = 5, 3 seeds, same source model (README): val top-1 85.6 -> 90.9 %
#: with full-ft-1x and 86.3 -> 88.1 % from scratch; not yet run over the whole table.
AUGMENTATIONS: Dict[str, Optional[List[dict]]] = {
    'default': None,
    'strong': [
        dict(
            type='LoadAndRandomResizedCrop',
            scale='auto',
            crop_ratio_range=(0.6, 1.0),
            aspect_ratio_range=(0.8, 1.25),
            interpolation='bicubic',
        ),
        dict(
            type='Rotate',
            magnitude_range=(0, 30),
            magnitude_level=5,  # of 10: up to 15 degrees, uniform
            magnitude_std='inf',
            pad_val=0,
            prob=0.8,
            random_negative_prob=0.5,
            interpolation='bicubic',
        ),
        dict(type='PackInputs'),
    ],
}


def _recipe(fragment: str) -> Config:
    return Config.fromfile(packaged_config_path(f'_base_/recipes/{fragment}.py'))


def _randaugment(cfg: Config) -> None:
    cfg.train_dataloader.dataset.pipeline = _recipe('randaugment').randaugment_train_pipeline


def _mixup_cutmix(cfg: Config) -> None:
    cfg.model.train_cfg = dict(augments=_recipe('mixup_cutmix').mixup_cutmix_augments)


def _label_smoothing(cfg: Config) -> None:
    cfg.model.head.loss = _recipe('label_smoothing').label_smoothing_loss


def _ema(cfg: Config) -> None:
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [_recipe('ema').ema_hook]


#: mmtl's recipe fragments (``configs/_base_/recipes``), applied to the few-shot runs as a
#: user's config would inherit them; ``--augment NAME`` picks one (every strategy alike).
RECIPES: Dict[str, Callable[[Config], None]] = {
    'randaugment': _randaugment,
    'mixup-cutmix': _mixup_cutmix,
    'label-smoothing': _label_smoothing,
    'ema': _ema,
}


#: Strategy name -> how it changes a run's config (given the pretrained checkpoint path): the
#: strategies of mmtl's table that the experiment runs.
STRATEGIES: Dict[str, Callable[[Config, Optional[str]], None]] = {
    name: functools.partial(apply_fewshot_strategy, name=name)
    for name in (
        'scratch',
        'linear-probe',
        'partial-ft',
        'full-ft',
        'full-ft-1x',
        'lp-ft',
        'exact-probe',
        'exact-lp-ft',
    )
}

#: What the experiment runs unless asked: the README table's strategies. ``lp-ft`` is opt-in:
#: measured (10 pretraining epochs, 100 steps, k = 5 and 10, 2 seeds) it did not beat full-ft.
DEFAULT_STRATEGIES = ('scratch', 'linear-probe', 'partial-ft', 'full-ft', 'full-ft-1x')


@dataclass
class FewShotResult:
    """Test top-1 of one run (and the best val top-1, on which strategies are compared)."""

    strategy: str
    shots: int
    seed: int
    train_images: int
    top1: float
    val_top1: Optional[float] = None  # best val top-1: the checkpoint tested; for choosing
    correct: Optional[List[bool]] = None  # per test image (sorted by path), for paired tests


def make_kshot_folder(src_root: str, dst_root: str, shots: int, seed: int) -> int:
    """Link ``shots`` random train images per class, and the whole val/test splits.

    Args:
        src_root (str): A split dataset ``{train,val,test}/<class>/*``.
        dst_root (str): Where to make the few-shot copy (links to the source files).
        shots (int): Training images per class.
        seed (int): Seed of the choice.

    Returns:
        int: Number of training images linked.

    Raises:
        ValueError: A class has fewer than ``shots`` training images.
    """
    rng = np.random.default_rng(seed)
    total = 0
    for name in list_class_folders(osp.join(src_root, 'train')):
        files = list_image_files(osp.join(src_root, 'train', name), IMG_EXTENSIONS)
        if len(files) < shots:
            raise ValueError(f'class {name!r} has {len(files)} train images, fewer than {shots}')
        out = osp.join(dst_root, 'train', name)
        os.makedirs(out, exist_ok=True)
        for index in sorted(rng.choice(len(files), size=shots, replace=False)):
            src = files[index]
            os.symlink(osp.abspath(src), osp.join(out, osp.basename(src)))
        total += shots
    for split in ('val', 'test'):
        os.symlink(osp.abspath(osp.join(src_root, split)), osp.join(dst_root, split))
    shutil.copy(osp.join(src_root, 'classes.txt'), osp.join(dst_root, 'classes.txt'))
    return total


def _run_config(
    config: str, data_root: str, work_dir: str, num_classes: int, name: str, **overrides
) -> Config:
    """The digits config made quiet and single-process for one experiment run."""
    options = {
        'data_root': data_root,
        'model.head.num_classes': num_classes,
        'work_dir': work_dir,
        'experiment_name': name,
        'log_level': 'WARNING',
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
    }
    for loader in DATALOADER_KEYS:
        options[f'{loader}.num_workers'] = 0
    options.update(overrides)
    # load_config applies mmtl's fixes (data_root, workers, schedules) after the overrides.
    return load_config(config, options)


def warmup_cosine_schedule(steps: int) -> List[dict]:
    """The few-shot runs' lr schedule: linear warm-up, then cosine, counted in iterations.

    An epoch of a few-shot run is 1-7 iterations, and a one-epoch ``LinearLR`` warm-up would
    end below the full lr (mmengine stops it one step early), hence iterations. A warm-up of
    ``w`` steps starts at 0.01x the lr and reaches the full lr at step ``w - 1``; runs of
    fewer than 20 steps get none (a one-step ``LinearLR`` would leave the lr at 0.01x).

    Args:
        steps (int): Optimisation steps of the run.

    Returns:
        list[dict]: ``param_scheduler`` entries: the warm-up of ``min(10, steps // 10)``
        steps, then cosine down to 1e-6 over the remaining steps.
    """
    warmup = min(10, steps // 10)
    if warmup < 2:
        warmup = 0
    schedule = []
    if warmup:
        schedule.append(
            dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup)
        )
    if steps > warmup:
        schedule.append(
            dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup, end=steps, eta_min=1e-6)
        )
    return schedule


def _validate_every(cfg: Config, times: int) -> None:
    """Validate ``times`` times over the run, keep the best checkpoint, no early stop."""
    epochs = cfg.train_cfg.max_epochs
    interval = max(1, epochs // times)
    cfg.train_cfg.val_interval = interval
    hooks = dict(cfg.default_hooks)
    hooks.pop('early_stopping', None)
    hooks['checkpoint'] = dict(
        type='AtomicCheckpointHook',
        interval=interval,
        max_keep_ckpts=1,
        save_best='accuracy/top1',
        rule='greater',
    )
    cfg.default_hooks = hooks


def _train(cfg: Config):
    """Build the runner of ``cfg`` and train; the runner holds the last weights."""
    from mmtl.apis.runner_setup import build_runner

    runner = build_runner(cfg)
    runner.train()
    return runner


def _train_and_load_best(cfg: Config):
    """Train, then load the checkpoint with the best val top-1 into the runner's model."""
    runner = _train(cfg)
    best = runner.message_hub.get_info('best_ckpt')
    if best:
        runner.load_checkpoint(best)
    return runner


#: Which weights of the pretraining run become the source model.
PRETRAIN_KEEP = ('best', 'last')


def pretrain_source_model(
    config: str, data_root: str, work_dir: str, epochs: int, keep: str = 'best'
) -> str:
    """Train on the source digits and save the backbone as the 'pretrained' checkpoint.

    Args:
        config (str): The digits config.
        data_root (str): The source dataset (digits 0-4).
        work_dir (str): Work directory of the run.
        epochs (int): Training epochs.
        keep (str): ``'best'``: the checkpoint of the best val top-1, the run stopped early by
            the base runtime (10 validations without improvement; on the 5 source digits val
            top-1 saturates within a few epochs, so ``epochs=30`` stops at epoch 18 and keeps
            epoch 8). ``'last'``: all ``epochs`` run (no early stop) and the last weights are
            kept. Defaults to ``'best'``.

    Returns:
        str: Path of a checkpoint holding the backbone only (the head is left out: the
        target task has other classes).
    """
    cfg = _run_config(
        config,
        data_root,
        work_dir,
        len(SOURCE_DIGITS),
        'pretrain',
        train_cfg=dict(max_epochs=epochs),
    )
    if keep not in PRETRAIN_KEEP:
        raise ValueError(f'keep={keep!r}: choose from {PRETRAIN_KEEP}')
    if keep == 'last':
        cfg.default_hooks = dict(cfg.default_hooks, early_stopping=None)
        runner = _train(cfg)
    else:
        runner = _train_and_load_best(cfg)
    state = {k: v for k, v in runner.model.state_dict().items() if k.startswith('backbone.')}
    path = osp.join(work_dir, 'pretrained_backbone.pth')
    with atomic_open(path) as f:
        torch.save({'state_dict': state, 'meta': {'source_digits': list(SOURCE_DIGITS)}}, f)
    return path


#: Largest batch of a few-shot run (smaller sets train in one batch of all their images).
MAX_BATCH = 16


def fewshot_batching(train_images: int, steps: int) -> Tuple[int, int]:
    """Batch size and epochs with which a few-shot run makes ``steps`` optimisation steps.

    Incomplete batches are dropped (a last batch of a few images wrecks BatchNorm's running
    statistics), so an epoch is ``train_images // batch_size`` steps: 25 images in batches of
    16 make one step an epoch, not two.

    Args:
        train_images (int): Training images of the run.
        steps (int): Optimisation steps wanted.

    Returns:
        tuple[int, int]: ``(batch_size, epochs)``; ``epochs`` full epochs make at least
        ``steps`` steps and fewer than ``steps`` + one epoch's.
    """
    batch_size = max(1, min(MAX_BATCH, train_images))
    per_epoch = max(1, train_images // batch_size)
    return batch_size, max(1, math.ceil(steps / per_epoch))


def finetune_config(
    config: str,
    data_root: str,
    work_dir: str,
    strategy: Optional[str],
    pretrained: Optional[str],
    train_images: int,
    steps: int,
    name: str,
    augment: str = 'default',
) -> Config:
    """The config of one few-shot run: the digits recipe, the few-shot schedule, a strategy.

    Args:
        config (str): The digits config.
        data_root (str): The few-shot target dataset.
        work_dir (str): Work directory of the run.
        strategy (str, optional): A key of :data:`STRATEGIES`; None: the recipe alone (no
            strategy, no ``load_from``), e.g. as the user config given to the advisor.
        pretrained (str, optional): The pretrained backbone checkpoint.
        train_images (int): Number of training images (sets batch size and epochs).
        steps (int): Optimisation steps, the same for every strategy.
        name (str): Experiment name (unique per run).
        augment (str): A key of :data:`AUGMENTATIONS`. Defaults to ``'default'``.

    Returns:
        Config: Validated 10 times, the best checkpoint kept, no early stop.
    """
    if augment not in AUGMENTATIONS and augment not in RECIPES:
        raise KeyError(f'augment={augment!r}: choose from {sorted({**AUGMENTATIONS, **RECIPES})}')
    batch_size, epochs = fewshot_batching(train_images, steps)
    cfg = _run_config(
        config,
        data_root,
        work_dir,
        len(TARGET_DIGITS),
        name,
        **{
            'train_cfg.max_epochs': epochs,
            'train_dataloader.batch_size': batch_size,
            # A last batch of 2 images (50 images in batches of 16) wrecks BatchNorm's
            # running statistics on these 1x1 late feature maps: drop incomplete batches.
            'train_dataloader.drop_last': True,
        },
    )
    cfg.param_scheduler = warmup_cosine_schedule(steps)
    if augment in RECIPES:
        RECIPES[augment](cfg)
    elif AUGMENTATIONS[augment] is not None:
        cfg.train_dataloader.dataset.pipeline = copy.deepcopy(AUGMENTATIONS[augment])
    if strategy is not None:
        STRATEGIES[strategy](cfg, pretrained)
    _validate_every(cfg, times=10)
    return cfg


def finetune_and_test(
    config: str,
    data_root: str,
    work_dir: str,
    strategy: str,
    pretrained: str,
    train_images: int,
    steps: int,
    name: str,
    augment: str = 'default',
    predictions: Optional[str] = None,
) -> Tuple[Optional[float], float]:
    """Train one strategy for ``steps`` iterations on a few-shot folder; val and test top-1.

    The run is validated 10 times on the target val split, and the checkpoint with the best
    val top-1 is the one tested (as with mmtl's default best-checkpoint hook). The other
    arguments are those of :func:`finetune_config`.

    Args:
        predictions (str, optional): Also write every test image's prediction to this JSON
            file (as ``mim test --out`` does; :func:`read_correct` reads it).

    Returns:
        tuple: ``(best val top-1, test top-1)`` in %: the val score of the checkpoint
        tested (None if it was never validated), and its top-1 on the target test split.
    """
    cfg = finetune_config(
        config, data_root, work_dir, strategy, pretrained, train_images, steps, name, augment
    )
    if predictions:
        add_prediction_writer(cfg, predictions)
    runner = _train_and_load_best(cfg)
    val = runner.message_hub.get_info('best_score')
    return (None if val is None else float(val)), float(runner.test()['accuracy/top1'])


def read_correct(predictions: str) -> List[bool]:
    """Per test image, whether it was classified right, in the order of the image paths.

    Args:
        predictions (str): A predictions JSON of ``mim test --out FILE.json``.

    Returns:
        list[bool]: Two runs tested on the same folder give lists paired image by image.
    """
    with open(predictions, encoding='utf-8') as f:
        rows = json.load(f)
    return [bool(row['correct']) for row in sorted(rows, key=lambda row: row['image'])]


def compare_pooled(
    baseline: Sequence[Sequence[bool]], other: Sequence[Sequence[bool]]
) -> Comparison:
    """``other`` against ``baseline`` on the test images of every seed, pooled.

    Args:
        baseline (Sequence): Per seed, the baseline's per-image correctness.
        other (Sequence): The same seeds and images, the other run's.

    Returns:
        Comparison: McNemar's test and the paired bootstrap interval of the difference
        (other - baseline, points) over all the pairs. It measures the noise of the test
        images for these draws; the spread over seeds is the noise of the draw.
    """
    if len(baseline) != len(other):
        raise ValueError(f'compare_pooled: {len(baseline)} and {len(other)} seeds')
    return compare_correct(
        [c for seed in baseline for c in seed], [c for seed in other for c in seed]
    )


def run_fewshot_experiment(
    work_dir: str,
    shots: Sequence[int] = (5, 10, 20),
    strategies: Iterable[str] = DEFAULT_STRATEGIES,
    seeds: Sequence[int] = (0,),
    pretrain_epochs: int = 30,
    steps: int = 200,
    config: str = 'mobilenet-v2_digits.py',
    log: Callable[[str], None] = print,
    pretrained: Optional[str] = None,
    pretrain_keep: str = 'best',
    augment: str = 'default',
) -> List[FewShotResult]:
    """Pretrain on digits 0-4, then learn 5-9 from ``k`` images per class with each strategy.

    Args:
        work_dir (str): Where data, runs and checkpoints go.
        shots (Sequence[int]): Values of k. Defaults to (5, 10, 20).
        strategies (Iterable[str]): Keys of :data:`STRATEGIES`. Defaults to
            :data:`DEFAULT_STRATEGIES`.
        seeds (Sequence[int]): Seeds of the k-shot draws (one run each). Defaults to (0,).
        pretrain_epochs (int): Epochs on digits 0-4. Defaults to 30.
        steps (int): Optimisation steps per few-shot run. Defaults to 200.
        config (str): The digits config. Defaults to ``'mobilenet-v2_digits.py'``.
        log (Callable): Progress printer. Defaults to print.
        pretrained (str, optional): A backbone checkpoint written by an earlier run of this
            experiment (``pretrain/pretrained_backbone.pth``), to reuse instead of
            pretraining again (to add rows to a table). Defaults to None: pretrain.
        pretrain_keep (str): Which pretraining weights become the source model, see
            :func:`pretrain_source_model`. Defaults to ``'best'``.
        augment (str): Training pipeline of the few-shot runs, a key of
            :data:`AUGMENTATIONS` (every strategy alike). Defaults to ``'default'``.

    Returns:
        list[FewShotResult]: One result per (k, seed, strategy).
    """
    if augment not in AUGMENTATIONS and augment not in RECIPES:
        raise KeyError(f'augment={augment!r}: choose from {sorted({**AUGMENTATIONS, **RECIPES})}')
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise KeyError(f'unknown strategies {unknown}; choose from {sorted(STRATEGIES)}')
    source = osp.join(work_dir, 'data', 'digits_0-4')
    target = osp.join(work_dir, 'data', 'digits_5-9')
    if not osp.isdir(source):
        write_digits_folder(source, seed=0, keep=SOURCE_DIGITS)
    if not osp.isdir(target):
        write_digits_folder(target, seed=0, keep=TARGET_DIGITS)
    if pretrained is None:
        log(f'pretraining on digits {SOURCE_DIGITS} for {pretrain_epochs} epochs')
        pretrained = pretrain_source_model(
            config, source, osp.join(work_dir, 'pretrain'), pretrain_epochs, pretrain_keep
        )
    elif not osp.isfile(pretrained):
        raise FileNotFoundError(f'--pretrained {pretrained}: no such file')
    results = []
    for k in shots:
        for seed in seeds:
            fewshot_root = osp.join(work_dir, 'data', f'digits_5-9_{k}shot_seed{seed}')
            if osp.isdir(fewshot_root):
                shutil.rmtree(fewshot_root)
            train_images = make_kshot_folder(target, fewshot_root, k, seed)
            for strategy in strategies:
                name = f'{strategy}_{k}shot_seed{seed}'
                run_dir = osp.join(work_dir, 'runs', name)
                predictions = osp.join(run_dir, 'predictions.json')
                os.makedirs(run_dir, exist_ok=True)
                val, top1 = finetune_and_test(
                    config,
                    fewshot_root,
                    run_dir,
                    strategy,
                    pretrained,
                    train_images,
                    steps,
                    name,
                    augment,
                    predictions,
                )
                correct = read_correct(predictions)
                results.append(FewShotResult(strategy, k, seed, train_images, top1, val, correct))
                shown = '-' if val is None else f'{val:6.2f}'
                log(f'k={k:<3d} seed={seed} {strategy:<13s} val {shown} % test top-1 {top1:6.2f} %')
    return results


def format_results_table(results: Sequence[FewShotResult], baseline: str = 'scratch') -> str:
    """A markdown table: one row per strategy, one column per k, and its legend.

    Each cell is test top-1, mean ± std over the seeds. A strategy's cell also gives its gain
    over ``baseline`` (the mean over seeds of the paired differences) with the 95 % paired
    bootstrap interval over the seeds' test images pooled (:func:`compare_pooled`), in bold
    when McNemar's test and the interval both say it is not noise.

    Args:
        results (Sequence[FewShotResult]): Results of :func:`run_fewshot_experiment`.
        baseline (str): The strategy the others are compared with. Defaults to 'scratch'.

    Returns:
        str: The table, a blank line and the legend.
    """
    shots = sorted({r.shots for r in results})
    strategies = list(dict.fromkeys(r.strategy for r in results))
    header = '| strategy | ' + ' | '.join(f'k = {k}' for k in shots) + ' |'
    lines = [header, '|---' * (len(shots) + 1) + '|']
    for strategy in strategies:
        cells = []
        for k in shots:
            runs = {r.seed: r for r in results if r.strategy == strategy and r.shots == k}
            scores = [r.top1 for r in runs.values()]
            cell = f'{statistics.mean(scores):.1f}' if scores else '-'
            if len(scores) > 1:
                cell += f' ± {statistics.stdev(scores):.1f}'
            base = {r.seed: r for r in results if r.strategy == baseline and r.shots == k}
            if scores and strategy != baseline and set(runs) == set(base):
                cell += '; ' + _gain_text([base[s] for s in runs], list(runs.values()))
            cells.append(cell)
        lines.append(f'| {strategy} | ' + ' | '.join(cells) + ' |')
    seeds = len({r.seed for r in results})
    lines += [
        '',
        f'Test top-1 %, mean ± std over {seeds} seed(s) of the k-shot draw; then the gain over '
        f'{baseline} in points (mean of the paired differences) and its 95 % paired bootstrap '
        'interval over the test images of all seeds, **bold** where McNemar p < 0.05 and the '
        'interval excludes 0. The interval is the noise of the test images for these draws; '
        'the std is the noise of the draw.',
    ]
    return '\n'.join(lines)


def _gain_text(baseline: Sequence[FewShotResult], other: Sequence[FewShotResult]) -> str:
    """``+18.4 [+12.1, +24.6]`` (bold when not noise) of ``other`` over ``baseline``."""
    gain = statistics.mean(o.top1 - b.top1 for o, b in zip(other, baseline))
    if any(r.correct is None for r in [*baseline, *other]):
        return f'{gain:+.1f}'
    comparison = compare_pooled([b.correct for b in baseline], [o.correct for o in other])
    low, high = comparison.difference.low, comparison.difference.high
    text = f'{gain:+.1f} [{low:+.1f}, {high:+.1f}]'
    return text if comparison.could_be_noise else f'**{text}**'


def results_as_dicts(results: Sequence[FewShotResult]) -> List[dict]:
    """Results as JSON-ready dicts."""
    return [asdict(r) for r in results]


def best_strategy(results: Sequence[FewShotResult], shots: int) -> Optional[str]:
    """The strategy with the highest mean top-1 at ``shots`` images per class."""
    means = {}
    for strategy in dict.fromkeys(r.strategy for r in results):
        scores = [r.top1 for r in results if r.strategy == strategy and r.shots == shots]
        if scores:
            means[strategy] = statistics.mean(scores)
    return max(means, key=means.get) if means else None
