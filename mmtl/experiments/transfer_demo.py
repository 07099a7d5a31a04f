"""README command 1: transfer learning on the embedded digits, end to end, through ``mim``.

The demo plays the whole job mmtl exists for on data that ships with scikit-learn:

1. "ImageNet": train the digits MobileNet-v2 on digits 0-4 (``mim train mmtl``) and publish its
   backbone without the head, as pretrained weights are published;
2. the new task: digits 5-9 from ``k`` training images per class (the few-shot folders of
   :mod:`mmtl.experiments.fewshot`);
3. fine-tune with the best strategy of the few-shot table at k = 1 (full fine-tuning with the
   backbone at the head's lr, ``full-ft-1x``) - a ``mim train mmtl`` of a config whose
   ``load_from`` is the pretrained backbone and whose head is new - and, as the baseline,
   the same run from scratch;
4. ``mim test mmtl`` both, classify one test image and draw it (``show_result_pyplot``), and
   print the transfer gain over scratch measured in this run.

The run configs are written to ``<work_dir>/configs/`` (readable, re-runnable): each is the
digits config with the strategy of :data:`mmtl.experiments.fewshot.STRATEGIES` applied and the
few-shot schedule (same number of steps for both runs, validated 10 times, best checkpoint
tested).
"""

import functools
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config

from mmtl.datasets.digits import write_digits_folder
from mmtl.experiments.fewshot import (
    SOURCE_DIGITS,
    STRATEGIES,
    TARGET_DIGITS,
    fewshot_batching,
    make_kshot_folder,
    warmup_cosine_schedule,
)
from mmtl.utils.checkpoint import safe_torch_load
from mmtl.utils.fileio import atomic_open

#: The best strategy of the few-shot table at k = 1 (README "Transfer works"): full
#: fine-tuning with the backbone at the head's lr.
DEFAULT_STRATEGY = 'full-ft-1x'
BASE_CONFIG = 'mobilenet-v2_digits.py'


@dataclass
class DemoSettings:
    """How big the demo is.

    Args:
        shots (int): Training images per class of the new task (digits 5-9).
        pretrain_epochs (int): Epochs on digits 0-4.
        steps (int): Optimisation steps of each fine-tuning run (transfer and scratch).
        seed (int): Seed of the k-shot draw.
        strategy (str): A key of :data:`STRATEGIES` for the transfer run.
    """

    shots: int = 1
    pretrain_epochs: int = 30
    steps: int = 200
    seed: int = 0
    strategy: str = DEFAULT_STRATEGY


#: A small run for tests: the same steps, minutes become seconds.
TINY = DemoSettings(shots=1, pretrain_epochs=1, steps=4)


def _repo_config(name: str) -> str:
    """Path of one of mmtl's configs (``configs/`` of the source tree or the installed .mim)."""
    import mmtl

    package = osp.dirname(osp.abspath(mmtl.__file__))
    for root in (osp.join(osp.dirname(package), 'configs'), osp.join(package, '.mim', 'configs')):
        if osp.isfile(osp.join(root, name)):
            return osp.join(root, name)
    raise FileNotFoundError(f'mmtl config {name} not found next to {package}')


def publish_backbone(checkpoint: str, out: str) -> int:
    """Write the backbone of a training checkpoint as pretrained weights (no head, no optimizer).

    Args:
        checkpoint (str): A checkpoint written by ``mim train`` (loaded safely).
        out (str): The file to write.

    Returns:
        int: Number of tensors written.
    """
    state = safe_torch_load(checkpoint)['state_dict']
    backbone = {k: v for k, v in state.items() if k.startswith('backbone.')}
    with atomic_open(out) as f:
        torch.save({'state_dict': backbone, 'meta': {'source_digits': list(SOURCE_DIGITS)}}, f)
    return len(backbone)


def fewshot_config(
    data_root: str, train_images: int, steps: int, strategy: str, pretrained: Optional[str]
) -> Config:
    """The digits config for one few-shot run on digits 5-9.

    Args:
        data_root (str): The few-shot folder.
        train_images (int): Its number of training images (sets batch size and epochs).
        steps (int): Optimisation steps.
        strategy (str): A key of :data:`STRATEGIES` (``'scratch'`` ignores ``pretrained``).
        pretrained (str, optional): The pretrained backbone checkpoint.

    Returns:
        Config: The config, ready to be dumped and trained with ``mim train mmtl``.
    """
    cfg = Config.fromfile(_repo_config(BASE_CONFIG))
    batch_size, epochs = fewshot_batching(train_images, steps)  # incomplete batches dropped
    cfg.data_root = data_root
    cfg.model.head.num_classes = len(TARGET_DIGITS)  # a new head: 5 new classes
    cfg.train_dataloader.batch_size = batch_size
    # An epoch is one or two batches of a few tiny images: worker processes would cost more
    # than they save.
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
    # A last batch of 1-2 images wrecks BatchNorm's running statistics: drop it.
    cfg.train_dataloader.drop_last = True
    cfg.train_cfg.max_epochs = epochs
    # Warm-up and cosine counted in iterations, as in the few-shot experiment.
    cfg.param_scheduler = warmup_cosine_schedule(steps)
    # Validate 10 times, keep only the best checkpoint, no early stop.
    interval = max(1, epochs // 10)
    cfg.train_cfg.val_interval = interval
    cfg.default_hooks.early_stopping = None
    cfg.default_hooks.checkpoint.update(interval=interval, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 1000
    STRATEGIES[strategy](cfg, pretrained)
    return cfg


def _run(cmd: List[str], log: Callable[[str], None]) -> None:
    log('$ ' + ' '.join(cmd))
    subprocess.run(cmd, check=True)


def _best_checkpoint(work_dir: str) -> str:
    best = sorted(f for f in os.listdir(work_dir) if f.startswith('best_') and f.endswith('.pth'))
    if not best:
        raise FileNotFoundError(f'no best_*.pth in {work_dir}')
    return osp.join(work_dir, best[-1])


def _train_and_test(
    config: str, work_dir: str, log: Callable[[str], None], plots: bool = False
) -> float:
    """``mim train mmtl`` then ``mim test mmtl`` on the best checkpoint; return test top-1."""
    if osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    _run(['mim', 'train', 'mmtl', config, '--work-dir', work_dir], log)
    best = _best_checkpoint(work_dir)
    test = ['mim', 'test', 'mmtl', config, '--checkpoint', best, '--work-dir', work_dir]
    _run(test + (['--plots'] if plots else []), log)
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        return float(json.load(f)['metrics']['accuracy/top1'])


def classify_one(config: str, checkpoint: str, image: str, out_png: str) -> dict:
    """Classify ``image`` with the fine-tuned model and draw the result to ``out_png``."""
    from mmtl.apis import inference_model, init_model, show_result_pyplot

    model = init_model(config, checkpoint, device='cpu')
    result = inference_model(model, image)
    show_result_pyplot(model, image, result, out_file=out_png, topk=3)
    return result


def run_transfer_demo(
    work_dir: str,
    settings: Optional[DemoSettings] = None,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, object]:
    """Pretrain on digits 0-4, fine-tune on few images of 5-9, compare with scratch.

    Args:
        work_dir (str): Where data, configs, runs and results go.
        settings (DemoSettings, optional): Sizes of the runs. Defaults to ``DemoSettings()``.
        log (Callable, optional): Progress printer. Defaults to print, flushed (the mim
            commands it starts write to the same terminal).

    Returns:
        dict: Test top-1 of both runs, the gain, timings, the classified image and its PNG
        (also written to ``<work_dir>/transfer_summary.json``).
    """
    settings = settings or DemoSettings()
    log = log or functools.partial(print, flush=True)
    if settings.strategy not in STRATEGIES or settings.strategy == 'scratch':
        choices = sorted(set(STRATEGIES) - {'scratch'})
        raise ValueError(f'strategy {settings.strategy!r}: choose one of {choices}')
    start = time.monotonic()
    data = osp.join(work_dir, 'data')
    source, target = osp.join(data, 'digits_0-4'), osp.join(data, 'digits_5-9')
    fewshot_root = osp.join(data, f'digits_5-9_{settings.shots}shot')
    for path in (source, target, fewshot_root):
        if osp.isdir(path):
            shutil.rmtree(path)
    write_digits_folder(source, seed=0, keep=SOURCE_DIGITS)
    write_digits_folder(target, seed=0, keep=TARGET_DIGITS)
    train_images = make_kshot_folder(target, fewshot_root, settings.shots, settings.seed)
    configs = osp.join(work_dir, 'configs')
    os.makedirs(configs, exist_ok=True)

    log(f'[demo] 1/4 pretraining on digits {SOURCE_DIGITS} (the "ImageNet" of the demo)')
    pretrain_cfg = Config.fromfile(_repo_config(BASE_CONFIG))
    pretrain_cfg.data_root = source
    pretrain_cfg.model.head.num_classes = len(SOURCE_DIGITS)
    pretrain_cfg.train_cfg.max_epochs = settings.pretrain_epochs
    pretrain_config = osp.join(configs, 'pretrain_digits_0-4.py')
    pretrain_cfg.dump(pretrain_config)
    pretrain_top1 = _train_and_test(pretrain_config, osp.join(work_dir, 'pretrain'), log)
    pretrained = osp.join(work_dir, 'pretrained_digits_0-4_backbone.pth')
    tensors = publish_backbone(_best_checkpoint(osp.join(work_dir, 'pretrain')), pretrained)
    log(f'[demo] published the backbone ({tensors} tensors, no head) as {pretrained}')
    pretrain_s = time.monotonic() - start

    scores, configs_used = {}, {}
    for step, strategy in ((2, settings.strategy), (3, 'scratch')):
        what = 'fine-tuning the pretrained backbone' if strategy != 'scratch' else 'from scratch'
        log(
            f'[demo] {step}/4 digits {TARGET_DIGITS} from {settings.shots} image(s) per class, '
            f'{what} ({strategy}, {settings.steps} steps)'
        )
        cfg = fewshot_config(fewshot_root, train_images, settings.steps, strategy, pretrained)
        config = osp.join(configs, f'digits_5-9_{settings.shots}shot_{strategy}.py')
        cfg.dump(config)
        configs_used[strategy] = config
        plots = strategy != 'scratch'  # confusion matrix, ROC, per-class plots
        scores[strategy] = _train_and_test(config, osp.join(work_dir, strategy), log, plots)

    log('[demo] 4/4 classifying one test image with the fine-tuned model')
    image = sorted(
        osp.join(target, 'test', '7', f) for f in os.listdir(osp.join(target, 'test', '7'))
    )[0]
    png = osp.join(work_dir, 'prediction.png')
    result = classify_one(
        configs_used[settings.strategy],
        _best_checkpoint(osp.join(work_dir, settings.strategy)),
        image,
        png,
    )
    summary = {
        'settings': vars(settings),
        'train_images': train_images,
        'pretrain_test_top1': pretrain_top1,
        'transfer_test_top1': scores[settings.strategy],
        'scratch_test_top1': scores['scratch'],
        'gain': scores[settings.strategy] - scores['scratch'],
        'pretrain_seconds': round(pretrain_s, 1),
        'total_seconds': round(time.monotonic() - start, 1),
        'image': image,
        'prediction': result['pred_class'],
        'score': float(result['pred_score']),
        'png': png,
        'configs': configs_used,
    }
    with atomic_open(osp.join(work_dir, 'transfer_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    prediction = f'{result["pred_class"]} (score {result["pred_score"]:.3f})'
    log(f'[demo] {image} -> {prediction}, drawn in {png}')
    log(
        f'[demo] source task (digits 0-4) test top-1: {pretrain_top1:.2f} %; new task (digits '
        f'5-9, {settings.shots} image(s) per class) test top-1: {settings.strategy} '
        f'{scores[settings.strategy]:.2f} % vs scratch {scores["scratch"]:.2f} %'
    )
    log(
        f'[demo] transfer gain over training from scratch: {summary["gain"]:+.2f} points '
        f'(whole demo {summary["total_seconds"]:.0f} s)'
    )
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    """Command line of ``tools/demo_transfer.py``."""
    import argparse

    defaults = DemoSettings()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo_transfer')
    parser.add_argument('--shots', type=int, default=defaults.shots)
    parser.add_argument('--pretrain-epochs', type=int, default=defaults.pretrain_epochs)
    parser.add_argument('--steps', type=int, default=defaults.steps)
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument(
        '--strategy', default=defaults.strategy, choices=sorted(set(STRATEGIES) - {'scratch'})
    )
    parser.add_argument('--tiny', action='store_true', help='seconds-long run (for tests)')
    args = parser.parse_args(argv)
    if args.tiny:
        settings = DemoSettings(**{**vars(TINY), 'strategy': args.strategy, 'seed': args.seed})
    else:
        settings = DemoSettings(
            args.shots, args.pretrain_epochs, args.steps, args.seed, args.strategy
        )
    run_transfer_demo(args.work_dir, settings)
    return 0


if __name__ == '__main__':
    sys.exit(main())
