"""Few-shot transfer on scikit-learn digits: pretrain on 0-4, learn 5-9 from k images each.

The experiment behind ``tools/fewshot_digits.py``: a MobileNet-v2 (the embedded digits
config, 32 px) is trained on digits 0-4, its backbone is saved as the "pretrained"
checkpoint, and then for each k the network learns digits 5-9 from k training images per
class with each transfer strategy, and from scratch, all with the same number of
optimisation steps. Each run is validated on the val split of digits 5-9 and its best
checkpoint is tested: the score is top-1 on the full test split of digits 5-9.
"""

import copy
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

from mmtl.datasets.digits import write_digits_folder
from mmtl.datasets.folder_dataset import IMG_EXTENSIONS, list_class_folders, list_image_files
from mmtl.utils.config import load_config
from mmtl.utils.fileio import atomic_open
from mmtl.utils.loader_defaults import DATALOADER_KEYS
from mmtl.utils.strategies import load_strategy

#: Digits the network is pretrained on, and the new digits it then learns.
SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)

#: The network the experiment runs (the digits config's backbone), for per-architecture
#: strategy fragments (``configs/_base_/strategies/partial_ft_mobilenet_v2.py``).
ARCH = 'mobilenet_v2'

#: Linear-probe lr for the digits config's AdamW: README's few-shot table was measured with it.
#: The fruit configs' 0.1 is 10x their SGD lr: another optimizer, another value.
LINEAR_PROBE_LR = 1e-2


def _apply_strategy(cfg: Config, name: str) -> None:
    """Merge the config keys of mmtl's strategy fragment ``name`` into ``cfg``."""
    cfg.merge_from_dict(load_strategy(name, ARCH))


def _from_scratch(cfg: Config, pretrained: str) -> None:
    _apply_strategy(cfg, 'scratch')


def _linear_probe(cfg: Config, pretrained: str) -> None:
    cfg.load_from = pretrained
    _apply_strategy(cfg, 'linear-probe')
    cfg.optim_wrapper.optimizer.lr = LINEAR_PROBE_LR


def _partial_finetune(cfg: Config, pretrained: str) -> None:
    cfg.load_from = pretrained
    _apply_strategy(cfg, 'partial-ft')


def _full_finetune(cfg: Config, pretrained: str) -> None:
    cfg.load_from = pretrained
    _apply_strategy(cfg, 'full-ft')


def _full_finetune_one_lr(cfg: Config, pretrained: str) -> None:
    cfg.load_from = pretrained
    _apply_strategy(cfg, 'full-ft-1x')


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


#: LP-FT: the share of the run's epochs spent as a linear probe before the backbone trains.
LP_FT_PROBE_SHARE = 0.25


def _probe_then_finetune(cfg: Config, pretrained: str) -> None:
    """LP-FT: the head learns on the frozen backbone first, then everything fine-tunes.

    A random head's gradients reach the pretrained features only once the head fits them
    (Kumar et al., "Fine-Tuning can Distort Pretrained Features", 2022). The backbone is
    frozen for the first :data:`LP_FT_PROBE_SHARE` of the epochs (no gradients, BatchNorm in
    eval mode), then unfrozen by ``GradualUnfreezeHook`` at 0.1x the head lr, as full-ft.
    """
    _full_finetune(cfg, pretrained)
    _apply_strategy(cfg, 'linear-probe')
    epochs = int(cfg.train_cfg.max_epochs)
    unfreeze = max(2, int(epochs * LP_FT_PROBE_SHARE) + 1)
    hooks = list(cfg.get('custom_hooks') or [])
    hooks.append(
        dict(type='GradualUnfreezeHook', schedule=[dict(epoch=unfreeze, modules=['backbone'])])
    )
    cfg.custom_hooks = hooks


def _strategy_hooks(cfg: Config, name: str) -> None:
    """Merge strategy ``name``'s fragment, appending its ``custom_hooks`` to the run's."""
    fragment = load_strategy(name, ARCH)
    hooks = fragment.pop('custom_hooks', [])
    cfg.merge_from_dict(fragment)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + hooks


def _exact_probe(cfg: Config, pretrained: str) -> None:
    """The exact linear probe: L-BFGS logistic regression on features computed once."""
    cfg.load_from = pretrained
    _strategy_hooks(cfg, 'exact-probe')


def _exact_probe_then_finetune(cfg: Config, pretrained: str) -> None:
    """LP-FT from the exact probe: the fitted head, then everything at the recipe's lr."""
    _full_finetune_one_lr(cfg, pretrained)
    _strategy_hooks(cfg, 'exact-lp-ft')


#: Strategy name -> how it changes the run's config (given the pretrained checkpoint path).
STRATEGIES: Dict[str, Callable[[Config, str], None]] = {
    'scratch': _from_scratch,
    'linear-probe': _linear_probe,
    'partial-ft': _partial_finetune,
    'full-ft': _full_finetune,
    'full-ft-1x': _full_finetune_one_lr,
    'lp-ft': _probe_then_finetune,
    'exact-probe': _exact_probe,
    'exact-lp-ft': _exact_probe_then_finetune,
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
    if augment not in AUGMENTATIONS:
        raise KeyError(f'augment={augment!r}: choose from {sorted(AUGMENTATIONS)}')
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
    if AUGMENTATIONS[augment] is not None:
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
) -> Tuple[Optional[float], float]:
    """Train one strategy for ``steps`` iterations on a few-shot folder; val and test top-1.

    The run is validated 10 times on the target val split, and the checkpoint with the best
    val top-1 is the one tested (as with mmtl's default best-checkpoint hook). The arguments
    are those of :func:`finetune_config`.

    Returns:
        tuple: ``(best val top-1, test top-1)`` in %: the val score of the checkpoint
        tested (None if it was never validated), and its top-1 on the target test split.
    """
    cfg = finetune_config(
        config, data_root, work_dir, strategy, pretrained, train_images, steps, name, augment
    )
    runner = _train_and_load_best(cfg)
    val = runner.message_hub.get_info('best_score')
    return (None if val is None else float(val)), float(runner.test()['accuracy/top1'])


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
    if augment not in AUGMENTATIONS:
        raise KeyError(f'augment={augment!r}: choose from {sorted(AUGMENTATIONS)}')
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
                val, top1 = finetune_and_test(
                    config,
                    fewshot_root,
                    osp.join(work_dir, 'runs', name),
                    strategy,
                    pretrained,
                    train_images,
                    steps,
                    name,
                    augment,
                )
                results.append(FewShotResult(strategy, k, seed, train_images, top1, val))
                shown = '-' if val is None else f'{val:6.2f}'
                log(f'k={k:<3d} seed={seed} {strategy:<13s} val {shown} % test top-1 {top1:6.2f} %')
    return results


def format_results_table(results: Sequence[FewShotResult]) -> str:
    """A markdown table: one row per strategy, one column per k (mean ± std over seeds).

    Args:
        results (Sequence[FewShotResult]): Results of :func:`run_fewshot_experiment`.

    Returns:
        str: The table.
    """
    shots = sorted({r.shots for r in results})
    strategies = list(dict.fromkeys(r.strategy for r in results))
    header = '| strategy | ' + ' | '.join(f'k = {k}' for k in shots) + ' |'
    lines = [header, '|---' * (len(shots) + 1) + '|']
    for strategy in strategies:
        cells = []
        for k in shots:
            scores = [r.top1 for r in results if r.strategy == strategy and r.shots == k]
            cell = f'{statistics.mean(scores):.1f}' if scores else '-'
            if len(scores) > 1:
                cell += f' ± {statistics.stdev(scores):.1f}'
            cells.append(cell)
        lines.append(f'| {strategy} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


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


#: Linear probes compared by :func:`feature_cache_accuracy`: label -> stored augmented views
#: per image besides the test-time view (None: no feature cache, every epoch augmented).
CACHE_VARIANTS: Dict[str, Optional[int]] = {
    'no cache': None,
    'cache, test view': 0,
    'cache, test view + 4 views': 4,
}


def feature_cache_accuracy(
    data_root: str,
    work_dir: str,
    pretrained: str,
    epochs: int = 10,
    seeds: Sequence[int] = (0,),
    variants: Dict[str, Optional[int]] = CACHE_VARIANTS,
    config: str = 'mobilenet-v2_digits.py',
    log: Callable[[str], None] = print,
) -> List[dict]:
    """What the feature cache costs a linear probe in accuracy, at equal epochs.

    The same linear probe (the digits recipe, :data:`LINEAR_PROBE_LR`, the few-shot schedule)
    on all training images of ``data_root``, for ``epochs`` epochs, without the cache (every
    epoch a new augmented crop) and with ``FeatureCacheHook(views=N)`` for each variant.

    Args:
        data_root (str): A split dataset of the target digits (e.g. ``data/digits_5-9`` of
            :func:`run_fewshot_experiment`'s work dir).
        work_dir (str): Where the runs go.
        pretrained (str): The source backbone checkpoint.
        epochs (int): Epochs of every run. Defaults to 10.
        seeds (Sequence[int]): Training seeds. Defaults to (0,).
        variants (dict): Label -> views (None: no cache). Defaults to :data:`CACHE_VARIANTS`.
        config (str): The digits config.
        log (Callable): Progress printer.

    Returns:
        list[dict]: ``variant, seed, val_top1, top1`` per run.
    """
    train_images = sum(
        len(list_image_files(osp.join(data_root, 'train', name), IMG_EXTENSIONS))
        for name in list_class_folders(osp.join(data_root, 'train'))
    )
    batch_size, _ = fewshot_batching(train_images, 1)
    steps = epochs * (train_images // batch_size)
    rows = []
    for seed in seeds:
        for label, views in variants.items():
            name = f'probe_{label.replace(" ", "_").replace(",", "")}_seed{seed}'
            cfg = finetune_config(
                config,
                data_root,
                osp.join(work_dir, name),
                'linear-probe',
                pretrained,
                train_images,
                steps,
                name,
            )
            cfg.randomness = dict(seed=seed)
            if views is not None:
                cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
                    dict(type='FeatureCacheHook', views=views)
                ]
            runner = _train_and_load_best(cfg)
            val = runner.message_hub.get_info('best_score')
            top1 = float(runner.test()['accuracy/top1'])
            rows.append(dict(variant=label, seed=seed, val_top1=val, top1=top1))
            log(f'{label:<28s} seed={seed} test top-1 {top1:6.2f} %')
    return rows
