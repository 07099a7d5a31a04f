"""GPU training throughput: MobileNet-v2 and ResNet-50 at 224 px, AMP, channels_last, compile.

For each model (mmtl's base model configs, mmpretrain ``ImageClassifier``), one training step
(``model.train_step`` through mmengine's ``OptimWrapper`` / ``AmpOptimWrapper``, SGD, the
same path ``tools/train.py`` takes) on a synthetic batch that lives on the GPU, so the
figure is the GPU's, not the data loader's. Variants: fp32, AMP fp16 (dynamic loss scaling),
AMP bf16, bf16 + channels_last, bf16 + channels_last + ``torch.compile``. Then the best
variant with DDP on all visible GPUs (``torchrun``, one process per GPU, NCCL), when there
are several. Printed beside timm's published RTX 3090 AMP training figures, and ResNet-50's
share of the GPU's dense bf16 peak (training FLOPs per image counted by
``torch.utils.flop_counter`` on the CPU).

Without a GPU it prints why and exits 0 (nothing measured). ``--cpu-smoke`` runs the same
code on the CPU with a tiny model (the tests use it; figures meaningless).

Run: ``python benchmarks/bench_gpu.py [--quick | --tiny] [--batch 256] [--no-ddp]``.
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import common  # noqa: I001  (puts the repository on sys.path)
import torch

ARCHS = {'mobilenet_v2': 'mobilenet_v2_1x', 'resnet50': 'resnet50'}

#: timm's published training throughput, RTX 3090, AMP, 224 px (img/s).
TIMM_RTX3090_AMP = {'mobilenet_v2': 1832.0, 'resnet50': 826.0}

#: Dense bf16 tensor-core peak in TFLOP/s by device name (first match wins, so the more
#: specific names come first). Vendor data sheets, without sparsity.
BF16_PEAK_TFLOPS = [
    ('H200', 989.0),
    ('H100 PCIe', 756.0),
    ('H100', 989.0),
    ('GH200', 989.0),
    ('B200', 2250.0),
    ('A100', 312.0),
    ('A800', 312.0),
    ('L40S', 362.0),
    ('L40', 181.0),
    ('L4', 121.0),
    ('A10G', 70.0),
    ('A10', 125.0),
    ('RTX 4090', 165.0),
    ('RTX 3090', 71.0),
    ('RTX A6000', 155.0),
]

#: (name, amp dtype or None, channels_last, compile)
VARIANTS = [
    ('fp32', None, False, False),
    ('amp fp16', 'float16', False, False),
    ('amp bf16', 'bfloat16', False, False),
    ('bf16 + channels_last', 'bfloat16', True, False),
    ('bf16 + channels_last + compile', 'bfloat16', True, True),
]

SIZES = {
    'tiny': dict(batch=2, image=32, warmup=1, iters=2),
    'quick': dict(batch=256, image=224, warmup=10, iters=30),
    'full': dict(batch=256, image=224, warmup=20, iters=100),
}


def bf16_peak_tflops(device_name: str) -> Optional[float]:
    """The dense bf16 peak of a GPU from its name, or None when it is not in the table.

    Args:
        device_name (str): ``torch.cuda.get_device_name()``.

    Returns:
        float | None: TFLOP/s.
    """
    for key, peak in BF16_PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None


def build_classifier(arch: str, classes: int = 1000):
    """An ``ImageClassifier`` from mmtl's base model config of ``arch`` (a key of ARCHS)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmtl  # noqa: F401  (registers mmtl's modules)
    from mmtl.registry import MODELS

    path = osp.join(common.REPO_ROOT, 'configs', '_base_', 'models', f'{ARCHS[arch]}.py')
    cfg = Config.fromfile(path)
    cfg.model.head.num_classes = classes
    cfg.model.head.topk = (1,)
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg.model)


def training_gflops_per_image(arch: str, image: int = 224) -> float:
    """Forward + backward FLOPs of one image (GFLOP), counted on the CPU."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_classifier(arch)
    x = torch.randn(2, 3, image, image)  # BatchNorm in training mode needs 2 images
    counter = FlopCounterMode(display=False)
    with counter:
        model(x, mode='tensor').sum().backward()
    return counter.get_total_flops() / 2 / 1e9


def make_batch(batch: int, image: int, device: str, classes: int = 1000) -> dict:
    """A synthetic uint8 batch already on ``device`` (no data loading in the figure)."""
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (batch, 3, image, image), generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, classes, (batch,), generator=gen)
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return dict(inputs=inputs.to(device), data_samples=samples)


def build_wrapper(model, dtype: Optional[str], device: str):
    """SGD in mmengine's wrapper for the precision (mmtl's bf16 wrapper on the CPU)."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    from mmtl.engine.optim_wrappers import BF16AutocastOptimWrapper

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if dtype is None:
        return OptimWrapper(optimizer)
    if device == 'cpu':
        return BF16AutocastOptimWrapper(optimizer=optimizer)
    return AmpOptimWrapper(optimizer=optimizer, dtype=dtype, loss_scale='dynamic')


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def measure_variant(
    arch: str, variant: tuple, size: dict, device: str, ddp: bool = False
) -> Dict[str, float]:
    """Images/s of one training configuration (per process; the caller sums over DDP ranks)."""
    name, dtype, channels_last, compile_ = variant
    torch.manual_seed(0)
    model = build_classifier(arch).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if ddp:
        from mmengine.model import MMDistributedDataParallel

        model = MMDistributedDataParallel(
            module=model, device_ids=[torch.cuda.current_device()], broadcast_buffers=False
        )
    wrapper = build_wrapper(model, dtype, device)
    step = model.train_step
    if compile_:
        step = torch.compile(step)
    batch = make_batch(size['batch'], size['image'], device)
    for _ in range(size['warmup']):
        step(batch, wrapper)
    _sync(device)
    if ddp:
        torch.distributed.barrier()
    start = time.perf_counter()
    for _ in range(size['iters']):
        step(batch, wrapper)
    _sync(device)
    seconds = time.perf_counter() - start
    return dict(images_per_s=size['batch'] * size['iters'] / seconds, seconds=seconds)


def run_ddp(args, size: dict, arch: str, variant: tuple, gpus: int) -> Optional[float]:
    """Total images/s of ``variant`` with one torchrun process per GPU; None on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'ddp.json')
        cmd = [
            sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={gpus}',
            '--standalone', osp.abspath(__file__), '--ddp-worker', out, '--arch', arch,
            '--variant', variant[0], '--batch', str(size['batch']),
        ]  # fmt: skip
        if args.size != 'full':
            cmd.append(f'--{args.size}')
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not osp.isfile(out):
            print(f'DDP run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}')
            return None
        with open(out) as f:
            return json.load(f)['images_per_s']


def ddp_worker(args, size: dict) -> None:
    """One torchrun process: measure, sum images/s over ranks, rank 0 writes the JSON."""
    local_rank = int(os.environ['LOCAL_RANK'])
    torch.cuda.set_device(local_rank)
    torch.distributed.init_process_group('nccl')
    variant = next(v for v in VARIANTS if v[0] == args.variant)
    figure = measure_variant(args.arch, variant, size, f'cuda:{local_rank}', ddp=True)
    total = torch.tensor(figure['images_per_s'], device='cuda')
    torch.distributed.all_reduce(total)
    if torch.distributed.get_rank() == 0:
        with open(args.ddp_worker, 'w') as f:
            json.dump(dict(images_per_s=total.item()), f)
    torch.distributed.destroy_process_group()


def gpu_table(results: List[dict], device_name: str, gflops: Dict[str, float]) -> str:
    """Markdown table: images/s per variant, beside timm's RTX 3090 AMP figure and, for
    ResNet-50, the share of the GPU's bf16 peak."""
    peak = bf16_peak_tflops(device_name)
    rows = []
    for r in results:
        share = '-'
        if r['arch'] == 'resnet50' and peak and r['images_per_s']:
            share = f'{100 * r["images_per_s"] * gflops[r["arch"]] / (peak * 1e3):.1f} %'
        rows.append(
            [r['arch'], r['variant'], r['gpus'], r['images_per_s'] or 'failed',
             TIMM_RTX3090_AMP[r['arch']], share]
        )  # fmt: skip
    title = (
        f'{device_name}; bf16 peak {peak or "unknown"} TFLOP/s; training GFLOP/image: '
        + ', '.join(f'{a} {g:.1f}' for a, g in gflops.items())
    )
    table = common.format_table(
        ['model', 'variant', 'GPUs', 'img/s', 'timm RTX 3090 AMP img/s', 'share of bf16 peak'],
        rows,
    )
    return title + '\n\n' + table


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--quick', action='store_true', help='30 timed iterations per variant')
    group.add_argument('--tiny', action='store_true', help='smoke-test sizes')
    parser.add_argument('--out', default=osp.join(common.DEFAULT_OUT, 'gpu.json'))
    parser.add_argument('--batch', type=int, default=None, help='per-GPU batch (default 256)')
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument('--no-ddp', action='store_true', help='skip the all-GPU DDP run')
    parser.add_argument('--no-compile', action='store_true', help='skip torch.compile')
    parser.add_argument(
        '--cpu-smoke', action='store_true', help='run the code on the CPU (tests; no figures)'
    )
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (ignored)')
    parser.add_argument('--workers', type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument('--data-dir', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--ddp-worker', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--arch', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--variant', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.size = 'tiny' if args.tiny else 'quick' if args.quick else 'full'
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    size = dict(SIZES[args.size])
    if args.batch:
        size['batch'] = args.batch
    if args.ddp_worker:
        ddp_worker(args, size)
        return {}
    if not torch.cuda.is_available() and not args.cpu_smoke:
        message = (
            'bench_gpu: no CUDA GPU is visible (torch.cuda.is_available() is False), so '
            'nothing was measured. Run it on a machine with a GPU: '
            'python benchmarks/bench_gpu.py --quick'
        )
        print(message)
        table = f'skipped: {message}'
        common.write_result(args.out, 'gpu', dict(skipped=True, reason=message), table)
        return dict(skipped=True, reason=message)
    device = 'cpu' if args.cpu_smoke else 'cuda'
    device_name = 'CPU (smoke run)' if args.cpu_smoke else torch.cuda.get_device_name()
    if device == 'cuda':
        torch.backends.cudnn.benchmark = True
    variants = [v for v in VARIANTS if not (v[3] and (args.no_compile or args.cpu_smoke))]
    if args.cpu_smoke:
        variants = [v for v in variants if v[1] != 'float16']
    gflops = {arch: training_gflops_per_image(arch, size['image']) for arch in args.archs}
    results = []
    for arch in args.archs:
        for variant in variants:
            figure = measure_variant(arch, variant, size, device)
            results.append(dict(arch=arch, variant=variant[0], gpus=1, **figure))
            print(f'{arch:<13s} {variant[0]:<32s} {figure["images_per_s"]:9.1f} img/s', flush=True)
    gpus = torch.cuda.device_count() if device == 'cuda' else 1
    if gpus > 1 and not args.no_ddp:
        best = 'bf16 + channels_last' if args.no_compile else variants[-1][0]
        variant = next(v for v in VARIANTS if v[0] == best)
        for arch in args.archs:
            total = run_ddp(args, size, arch, variant, gpus)
            results.append(dict(arch=arch, variant=f'DDP {best}', gpus=gpus, images_per_s=total))
    result = dict(
        skipped=False,
        device=device_name,
        bf16_peak_tflops=bf16_peak_tflops(device_name),
        training_gflops_per_image=gflops,
        timm_rtx3090_amp=TIMM_RTX3090_AMP,
        size=size,
        results=results,
    )
    common.write_result(args.out, 'gpu', result, gpu_table(results, device_name, gflops))
    return result


if __name__ == '__main__':
    main()
