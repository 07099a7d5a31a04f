"""Epochs 2+ of a linear probe and a partial fine-tune with and without the feature cache.

MobileNet-v2 (random weights of the published architecture) on 224-px photos (500 x 375 JPEGs
made from scikit-learn's sample photos), trained by mmengine's Runner from mmtl's base
configs, dataloader in this process (``num_workers=0``), one PyTorch thread. Each run trains a
few epochs; the figure is the CPU time of this process over epochs 2+ (the first epoch of a
cached run also extracts the features). Rows:

- ``mmpretrain, frozen_stages=7``: stock ``ImageClassifier`` with MobileNetV2's
  ``frozen_stages=7, norm_eval=True`` (its last 1x1 conv still trains: ``frozen_stages``
  does not reach it);
- ``mmtl linear probe``: ``TransferClassifier(frozen_modules=['backbone'])``, no cache;
- ``mmtl linear probe + FeatureCacheHook``: the same, pooled features cached;
- ``mmtl partial-ft`` (stem and layers 1-4 of 7 frozen), without and with the cache.

Then the exact probe: 1,000 images of 10 classes (80 x 60 JPEGs, resized to 224 px, 96 px
with ``--quick``: the pooled features are 1280-d at any input size), extracted once, and the
L-BFGS logistic regression solved for the whole weight-decay grid with 200 held-out images
as val: the solve alone is the figure, in CPU seconds of this process (wall time on a shared
machine measures the other processes). Ratios are within this run.

Run: ``python benchmarks/bench_feature_cache.py [--quick | --tiny]``.
"""

import os.path as osp
import tempfile
import time
from typing import Dict, List

import common  # noqa: I001  (puts the repository on sys.path)
import torch
from mmengine.hooks import Hook

#: Epochs 2+: cached linear probe over uncached and over stock mmpretrain; cached partial-ft.
GOAL_PROBE = 20.0
GOAL_PARTIAL = 1.5
#: Seconds for the exact probe on 1,000 images' features.
GOAL_SOLVE = 10.0

SIZES = {
    # photos per class (2 classes), batch, epochs, input size, probe images
    'tiny': dict(per_class=4, batch=4, epochs=3, input=64, probe=100, probe_input=32),
    'quick': dict(per_class=24, batch=16, epochs=3, input=224, probe=1000, probe_input=96),
    'full': dict(per_class=64, batch=32, epochs=4, input=224, probe=1000, probe_input=224),
}

PARTIAL = [
    'backbone.conv1',
    'backbone.layer1',
    'backbone.layer2',
    'backbone.layer3',
    'backbone.layer4',
]


class EpochTimer(Hook):
    """CPU and wall seconds of each training epoch (hooks and data loading included), and
    the CPU seconds of the other hooks' ``before_train`` (the feature cache's first pass)."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.cpu: List[float] = []
        self.wall: List[float] = []
        self.setup_cpu = 0.0

    def before_train(self, runner) -> None:
        self._setup = time.process_time()

    def before_train_epoch(self, runner) -> None:
        if not self.cpu:  # the hooks' before_train (the cache's first pass) ran in between
            self.setup_cpu = time.process_time() - self._setup
        self._mark = (time.process_time(), time.perf_counter())

    def after_train_epoch(self, runner) -> None:
        self.cpu.append(time.process_time() - self._mark[0])
        self.wall.append(time.perf_counter() - self._mark[1])


def build_config(folder: str, work_dir: str, size: dict, model: dict, hooks: list):
    from mmtl.config.load import load_config

    base = osp.join(common.REPO_ROOT, 'configs', '_base_')
    path = osp.join(work_dir, 'bench_feature_cache_cfg.py')
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{osp.join(base, "models", "mobilenet_v2_1x.py")!r}, '
            f'{osp.join(base, "datasets", "image_folder_224.py")!r}, '
            f'{osp.join(base, "schedules", "adamw_cosine_30e.py")!r}, '
            f'{osp.join(base, "default_runtime.py")!r}]\n'
            f'input_size = {size["input"]}\n'
            'model = dict(head=dict(num_classes=2, topk=(1,)))\n'
            "val_evaluator = dict(type='Accuracy', topk=(1,))\n"
        )
    options = {
        'data_root': folder,
        'work_dir': work_dir,
        'log_level': 'WARNING',
        'train_cfg.max_epochs': size['epochs'],
        'train_cfg.val_interval': 1000,
        'train_dataloader.batch_size': size['batch'],
        'default_hooks.checkpoint.interval': 1000,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
        options[f'{loader}.dataset.data_prefix'] = ''
        options[f'{loader}.dataset.class_folder'] = ''
    cfg = load_config(path, options)
    cfg.model.update(model)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + hooks
    return cfg


def train_epochs(folder: str, size: dict, model: dict, cached: bool) -> Dict[str, float]:
    """Train one configuration; CPU and wall seconds per epoch over epochs 2+."""
    from mmtl.apis.runner_setup import build_runner

    timer = EpochTimer()
    hooks = [dict(type='FeatureCacheHook')] if cached else []
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = build_config(folder, work_dir, size, model, hooks)
        runner = build_runner(cfg)
        runner.register_hook(timer)
        runner.train()
    later = slice(1, None)
    return {
        'cpu_s_per_epoch': sum(timer.cpu[later]) / len(timer.cpu[later]),
        'wall_s_per_epoch': sum(timer.wall[later]) / len(timer.wall[later]),
        'first_epoch_cpu_s': timer.cpu[0],
        'before_train_cpu_s': timer.setup_cpu,
    }


def probe_solve(data_dir: str, size: dict) -> Dict[str, float]:
    """Extract 1280-d features of ``size['probe']`` images once; time the exact probe."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from torch.utils.data import DataLoader

    from mmtl.datasets import FolderDataset
    from mmtl.models.probe_solver import fit_linear_probe
    from mmtl.registry import MODELS

    per_class = size['probe'] // 10
    folder = common.make_jpeg_folder(
        osp.join(data_dir, f'jpeg_80x60_{per_class}x10'), 80, 60, per_class, classes=10
    )
    init_default_scope('mmtl')
    pipeline = [
        dict(type='LoadImage'),
        dict(type='Resize', scale=(size['probe_input'], size['probe_input'])),
        dict(type='PackInputs'),
    ]
    dataset = FolderDataset(data_root=folder, data_prefix='', pipeline=pipeline)
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True,
            ),
            backbone=dict(type='MobileNetV2'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=1280),
        )
    ).eval()
    feats, labels = [], []
    start = time.perf_counter()
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=50, collate_fn=pseudo_collate):
            data = model.data_preprocessor(batch, False)
            feats.append(model.extract_feat(data['inputs'], stage='pre_logits'))
            labels.extend(int(s.gt_label[0]) for s in batch['data_samples'])
    extract_s = time.perf_counter() - start
    x, y = torch.cat(feats), torch.tensor(labels)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    val = order[: len(x) // 5]
    train = order[len(x) // 5 :]
    start, cpu = time.perf_counter(), time.process_time()
    fit = fit_linear_probe(x[train], y[train], 10, x[val], y[val])
    return {
        'images': len(x),
        'features': int(x.shape[1]),
        'extract_s': extract_s,
        'solve_s': time.perf_counter() - start,
        'solve_cpu_s': time.process_time() - cpu,
        'weight_decay': fit.weight_decay,
    }


#: Each family's smallest member: mmpretrain model name (random weights, published shapes).
FAMILIES = {
    'MobileNet-v2': 'mobilenet-v2_8xb32_in1k',
    'ResNet-18': 'resnet18_8xb32_in1k',
    'EfficientNet-B0': 'efficientnet-b0_3rdparty_8xb32_in1k',
    'ConvNeXt-T': 'convnext-tiny_32xb128_in1k',
    'ViT-S (DeiT-S)': 'deit-small_4xb256_in1k',
    'Swin-T': 'swin-tiny_16xb64_in1k',
}


def cache_memory(families: Dict[str, str], image: int = 224) -> Dict[str, dict]:
    """MiB per 1,000 images (one view, float32) at the linear-probe cut and at the middle
    step of the backbone where mmtl can cut there."""
    import mmpretrain

    from mmtl.models.feature_cache import backbone_steps, run_prefix

    out = {}
    for family, name in families.items():
        model = mmpretrain.get_model(name, pretrained=False).eval()
        x = torch.zeros(1, 3, image, image)
        with torch.no_grad():
            pooled = model.extract_feat(x, stage='neck')[-1]
            row = {'probe_shape': list(pooled.shape[1:]), 'probe_mib': pooled.numel() * 4e3 / 2**20}
            steps = backbone_steps(model.backbone)
            if steps:
                middle = steps[len(steps) // 2]
                mid = run_prefix(model, x, f'backbone.{middle.name}')
                row.update(
                    mid_cut=middle.name,
                    mid_shape=list(mid.shape[1:]),
                    mid_mib=mid.numel() * 4e3 / 2**20,
                )
        out[family] = row
    return out


def main(argv=None) -> dict:
    args = common.parse_args('feature_cache', __doc__.splitlines()[0], argv)
    size = SIZES[args.size]
    folder = common.make_jpeg_folder(
        osp.join(args.data_dir, f'jpeg_500x375_{size["per_class"]}'), 500, 375, size['per_class']
    )
    probe = dict(type='TransferClassifier', frozen_modules=['backbone'])
    partial = dict(type='TransferClassifier', frozen_modules=PARTIAL)
    stock = dict(
        type='ImageClassifier', backbone=dict(type='MobileNetV2', frozen_stages=7, norm_eval=True)
    )
    runs = {
        'mmpretrain, frozen_stages=7': train_epochs(folder, size, stock, False),
        'mmtl linear probe': train_epochs(folder, size, probe, False),
        'mmtl linear probe + FeatureCacheHook': train_epochs(folder, size, probe, True),
        'mmtl partial-ft': train_epochs(folder, size, partial, False),
        'mmtl partial-ft + FeatureCacheHook': train_epochs(folder, size, partial, True),
    }
    cpu = {name: run['cpu_s_per_epoch'] for name, run in runs.items()}
    ratios = {
        'linear probe: cache / no cache': common.ratio(
            cpu['mmtl linear probe'], cpu['mmtl linear probe + FeatureCacheHook']
        ),
        'linear probe: cache / mmpretrain': common.ratio(
            cpu['mmpretrain, frozen_stages=7'], cpu['mmtl linear probe + FeatureCacheHook']
        ),
        'partial-ft: cache / no cache': common.ratio(
            cpu['mmtl partial-ft'], cpu['mmtl partial-ft + FeatureCacheHook']
        ),
    }
    solve = probe_solve(args.data_dir, size)
    rows = [
        [
            name,
            run['cpu_s_per_epoch'],
            run['wall_s_per_epoch'],
            run['first_epoch_cpu_s'] + run['before_train_cpu_s'],
        ]
        for name, run in runs.items()
    ]
    table = common.format_table(
        [
            f'MobileNet-v2, {2 * size["per_class"]} photos at {size["input"]} px',
            'CPU s / epoch (2+)',
            'wall s / epoch (2+)',
            'CPU s epoch 1 (+ first pass)',
        ],
        rows,
    )
    table += '\n\n' + common.format_table(
        ['exact probe', 'images', 'features', 'extraction s', 'solve s', 'solve CPU s'],
        [
            [
                'L-BFGS, 6 weight decays',
                solve['images'],
                solve['features'],
                solve['extract_s'],
                solve['solve_s'],
                solve['solve_cpu_s'],
            ]
        ],
    )
    goals = {
        'linear probe, epochs 2+: cache / no cache': common.goal(
            ratios['linear probe: cache / no cache'], GOAL_PROBE
        ),
        'linear probe, epochs 2+: cache / mmpretrain': common.goal(
            ratios['linear probe: cache / mmpretrain'], GOAL_PROBE
        ),
        'partial-ft, epochs 2+: cache / no cache': common.goal(
            ratios['partial-ft: cache / no cache'], GOAL_PARTIAL
        ),
        f'exact probe solve, CPU s ({solve["images"]} images)': common.goal(
            solve['solve_cpu_s'], GOAL_SOLVE, '<'
        ),
    }
    memory = cache_memory(
        FAMILIES if args.size != 'tiny' else {'MobileNet-v2': FAMILIES['MobileNet-v2']}
    )
    table += '\n\n' + common.format_table(
        ['cache per 1,000 images (224 px, 1 view, fp32)', 'probe cut', 'MiB', 'mid cut', 'MiB'],
        [
            [
                family,
                'x'.join(map(str, m['probe_shape'])),
                m['probe_mib'],
                f'{m["mid_cut"]} {"x".join(map(str, m["mid_shape"]))}' if 'mid_cut' in m else '-',
                m.get('mid_mib', '-'),
            ]
            for family, m in memory.items()
        ],
    )
    table += '\n\n' + common.goal_table('goal (#25, same run)', goals)
    result = {
        'goals': goals,
        'size': args.size,
        'runs': runs,
        'ratios': ratios,
        'probe': solve,
        'memory_per_1000_images': memory,
    }
    common.write_result(args.out, 'feature_cache', result, table)
    return result


if __name__ == '__main__':
    main()
