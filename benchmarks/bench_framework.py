"""Framework overhead: one training iteration through mmtl's Runner vs a bare PyTorch loop.

Both train the same MobileNet-v2 (mmtl's base model config, same initial weights) with the
same SGD optimizer on the same in-memory uint8 images and labels, batch for batch. The
Runner is configured by mmtl's ``default_runtime.py`` (its hooks, logging, TensorBoard) and
does what a real run does: DataLoader with ``pseudo_collate``, the data preprocessor
(stacking, normalisation), ``train_step``, the hooks. The bare loop normalises the same
batches and calls backbone, neck, head, cross-entropy, backward, step.

Iterations are interleaved: a hook that runs last after each Runner iteration runs one bare
iteration, so both see the same background load. The figure is the median time per
iteration, wall clock and CPU time of this process (the steadier one on a busy machine); the
Runner's time runs from the end of one bare iteration to the end of the next Runner iteration
(data loading, preprocessing, step and all other hooks included).

Run: ``python benchmarks/bench_framework.py [--quick | --tiny]``.
"""

import copy
import os.path as osp
import statistics
import tempfile
import time

import common  # noqa: I001  (puts the repository on sys.path)
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch.utils.data import Dataset

SIZES = {
    'tiny': dict(iters=6, warmup=2, batch=4, image=16, widen=0.25),
    'quick': dict(iters=40, warmup=5, batch=32, image=32, widen=1.0),
    'full': dict(iters=120, warmup=10, batch=32, image=64, widen=1.0),
}
CLASSES = 10


def make_data(count: int, image: int):
    """``count`` random uint8 images ``3 x image x image`` and labels (seeded)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, image, image), generator=generator)
    labels = torch.randint(0, CLASSES, (count,), generator=generator)
    return images.to(torch.uint8), labels


class InMemoryImages(Dataset):
    """Packed samples (``inputs`` uint8 CHW tensor + ``data_samples``) held in memory."""

    def __init__(self, count: int, image: int) -> None:
        from mmpretrain.structures import DataSample

        images, labels = make_data(count, image)
        self.samples = [
            dict(inputs=img, data_samples=DataSample().set_gt_label(int(label)))
            for img, label in zip(images, labels)
        ]
        self.metainfo = dict(classes=[str(c) for c in range(CLASSES)])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx: int) -> dict:
        return self.samples[idx]


class BareLoop:
    """The same model and optimizer driven by plain PyTorch."""

    def __init__(self, model, images, labels, batch, mean, std) -> None:
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        self.images, self.labels, self.batch = images, labels, batch
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self.cursor = 0
        self.times, self.cpu_times = [], []

    def step(self) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        idx = slice(self.cursor, self.cursor + self.batch)
        self.cursor = (self.cursor + self.batch) % len(self.images)
        x = (self.images[idx].flip(1).float() - self.mean) / self.std  # BGR -> RGB, normalise
        logits = self.model.head(self.model.neck(self.model.backbone(x)))
        loss = F.cross_entropy(logits, self.labels[idx])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.times.append(time.perf_counter() - start)
        self.cpu_times.append(time.process_time() - cpu)


class InterleaveHook(Hook):
    """After each Runner iteration (last of all hooks), time it and run one bare iteration."""

    priority = 'LOWEST'

    def __init__(self, bare: BareLoop) -> None:
        self.bare = bare
        self.runner_times, self.runner_cpu_times = [], []
        self.mark = None

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if self.mark is not None:
            self.runner_times.append(now - self.mark[0])
            self.runner_cpu_times.append(cpu - self.mark[1])
        self.bare.step()
        self.mark = (time.perf_counter(), time.process_time())


def build_config(size: dict, work_dir: str):
    from mmtl.config.load import load_config

    base = osp.join(common.REPO_ROOT, 'configs', '_base_')
    path = osp.join(work_dir, 'bench_framework_cfg.py')
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{osp.join(base, "models", "mobilenet_v2_1x.py")!r}, '
            f'{osp.join(base, "default_runtime.py")!r}]\n'
            f'model = dict(backbone=dict(widen_factor={size["widen"]}), '
            f'head=dict(num_classes={CLASSES}, in_channels=1280, topk=(1,)))\n'
            'data_preprocessor = dict(mean=[123.675, 116.28, 103.53], '
            'std=[58.395, 57.12, 57.375], to_rgb=True)\n'
            "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))\n"
            f'train_cfg = dict(by_epoch=True, max_epochs=1)\n'
            'default_hooks = dict(checkpoint=dict(interval=100, save_best=None))\n'
        )
    cfg = load_config(path)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'  # the hooks still log; the console stays readable
    cfg.model.data_preprocessor = cfg.data_preprocessor
    return cfg


def main(argv=None) -> dict:
    args = common.parse_args('framework', __doc__.splitlines()[0], argv)
    size = SIZES[args.size]
    iters = size['iters'] + 1  # the first interval is not measured
    images, labels = make_data(iters * size['batch'], size['image'])
    from mmtl.registry import DATASETS

    DATASETS.register_module('BenchInMemoryImages', module=InMemoryImages, force=True)

    with tempfile.TemporaryDirectory() as work_dir:
        cfg = build_config(size, work_dir)
        cfg.train_dataloader = dict(
            batch_size=size['batch'],
            num_workers=0,
            dataset=dict(type='BenchInMemoryImages', count=len(images), image=size['image']),
            sampler=dict(type='DefaultSampler', shuffle=False),
        )
        runner = Runner.from_cfg(cfg)
        model = runner.model
        bare_model = copy.deepcopy(model)  # same initial weights
        bare_model.train()
        bare = BareLoop(
            bare_model,
            images,
            labels,
            size['batch'],
            cfg.data_preprocessor.mean,
            cfg.data_preprocessor.std,
        )
        hook = InterleaveHook(bare)
        runner.register_hook(hook)
        runner.train()

    warmup = size['warmup']
    measured = slice(warmup + 1, len(hook.runner_times) + 1)  # bare step i follows runner i
    runner_s = statistics.median(hook.runner_times[warmup:])
    bare_s = statistics.median(bare.times[measured])
    runner_cpu = statistics.median(hook.runner_cpu_times[warmup:])
    bare_cpu = statistics.median(bare.cpu_times[measured])
    result = {
        'size': args.size,
        'iterations': len(hook.runner_times) - warmup,
        'batch': size['batch'],
        'image_size': size['image'],
        'runner_s_per_iter': runner_s,
        'bare_s_per_iter': bare_s,
        'ratio_runner_to_bare': common.ratio(runner_s, bare_s),
        'runner_cpu_s_per_iter': runner_cpu,
        'bare_cpu_s_per_iter': bare_cpu,
        'cpu_ratio_runner_to_bare': common.ratio(runner_cpu, bare_cpu),
    }
    table = common.format_table(
        ['loop', 'ms / iteration', 'x bare', 'CPU ms / iteration', 'x bare (CPU)'],
        [
            ['bare PyTorch', bare_s * 1e3, 1.0, bare_cpu * 1e3, 1.0],
            [
                'mmtl Runner (mmengine)',
                runner_s * 1e3,
                result['ratio_runner_to_bare'],
                runner_cpu * 1e3,
                result['cpu_ratio_runner_to_bare'],
            ],
        ],
    )
    common.write_result(args.out, 'framework', result, table)
    return result


if __name__ == '__main__':
    main()
