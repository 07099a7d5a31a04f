"""CPU speed of exported classifiers: onnxruntime and TorchScript against PyTorch eager.

    python benchmarks/bench_export.py [--quick] [--out work_dirs/benchmarks/export.json]

For MobileNet-v2 and ResNet-50 (random weights: speed does not depend on them) at 224 px,
batch 1 and 32, measures per-batch latency (median and 90th percentile) and images/s of
PyTorch eager, TorchScript (traced) and onnxruntime, all in this one run and with the same
thread count, and prints them with the speed-up ratios against eager. ``--quick`` (for CI)
runs 64 px, batch 1 and 4, and fewer iterations. The JSON written to ``--out`` holds every
figure and the machine conditions (threads, CPU count, load average).
"""

import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List

import numpy as np
import torch

#: Model configs benchmarked (a 1000-class ImageNet head, like the pretrained models).
MODELS = {
    'mobilenet-v2': dict(
        type='ImageClassifier',
        backbone=dict(type='MobileNetV2', widen_factor=1.0),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280),
    ),
    'resnet50': dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=50),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048),
    ),
}
RUNTIMES = ('eager', 'torchscript', 'onnxruntime')

FULL = dict(size=224, batches=(1, 32), warmup=2, min_iters=5, min_seconds=2.0)
QUICK = dict(size=64, batches=(1, 4), warmup=1, min_iters=3, min_seconds=0.3)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='CPU speed: onnxruntime/TorchScript vs eager')
    parser.add_argument('--quick', action='store_true', help='CI size: 64 px, batch 1 and 4')
    parser.add_argument(
        '--out', default='work_dirs/benchmarks/export.json', help='JSON file to write'
    )
    parser.add_argument('--models', nargs='+', choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='threads of every runtime (default 1: on a shared, busy CPU, several threads per '
        "process make PyTorch's OpenMP pool stall and the figures meaningless)",
    )
    return parser.parse_args(argv)


def build_model(name: str) -> torch.nn.Module:
    """The exportable (``tensor -> logits``) classifier, random weights, eval mode."""
    from mmengine.registry import DefaultScope

    import mmtl  # noqa: F401  (registers the modules)
    from mmtl.deployment import ExportableClassifier
    from mmtl.registry import MODELS as MODEL_REGISTRY

    with DefaultScope.overwrite_default_scope('mmtl'):
        classifier = MODEL_REGISTRY.build(MODELS[name])
    return ExportableClassifier(classifier).eval()


def make_runners(
    module: torch.nn.Module, example: torch.Tensor, work_dir: str, threads: int
) -> Dict[str, Callable[[np.ndarray], object]]:
    """One ``batch -> output`` function per runtime, exported from ``module``."""
    import onnxruntime as ort

    from mmtl.deployment import export_module

    onnx_path = osp.join(work_dir, 'model.onnx')
    export_module(module, example, onnx_path, 'onnx')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=['CPUExecutionProvider'])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(module, (example,), check_trace=False)

    def eager(batch):
        with torch.no_grad():
            return module(torch.from_numpy(batch))

    def torchscript(batch):
        with torch.no_grad():
            return traced(torch.from_numpy(batch))

    def onnxruntime(batch):
        return session.run(None, {'input': batch})

    return dict(eager=eager, torchscript=torchscript, onnxruntime=onnxruntime)


def time_runner(run: Callable, batch: np.ndarray, settings: dict) -> List[float]:
    """Seconds per call: after ``warmup`` calls, at least ``min_iters`` calls and
    ``min_seconds`` of running."""
    for _ in range(settings['warmup']):
        run(batch)
    times: List[float] = []
    start = time.perf_counter()
    while (
        len(times) < settings['min_iters'] or time.perf_counter() - start < settings['min_seconds']
    ):
        tick = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - tick)
    return times


def summarize(times: List[float], batch_size: int) -> dict:
    median = statistics.median(times)
    ordered = sorted(times)
    return dict(
        iterations=len(times),
        median_ms=median * 1e3,
        p90_ms=ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1e3,
        images_per_s=batch_size / median,
    )


def benchmark(args: argparse.Namespace) -> dict:
    settings = QUICK if args.quick else FULL
    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    results = []
    for name in args.models:
        module = build_model(name)
        example = torch.randn(2, 3, settings['size'], settings['size'])
        with tempfile.TemporaryDirectory() as work_dir:
            runners = make_runners(module, example, work_dir, args.threads)
            for batch_size in settings['batches']:
                batch = np.random.default_rng(0).standard_normal(
                    (batch_size, 3, settings['size'], settings['size']), dtype=np.float32
                )
                row = dict(model=name, batch=batch_size, size=settings['size'])
                for runtime in RUNTIMES:
                    times = time_runner(runners[runtime], batch, settings)
                    row[runtime] = summarize(times, batch_size)
                for runtime in RUNTIMES[1:]:
                    row[f'{runtime}_speedup'] = (
                        row['eager']['median_ms'] / row[runtime]['median_ms']
                    )
                results.append(row)
                print_row(row)
    return dict(
        mode='quick' if args.quick else 'full',
        settings=settings,
        conditions=dict(conditions(args.threads), load_average_1min_at_start=load_at_start),
        results=results,
    )


def conditions(threads: int) -> dict:
    import onnxruntime

    return dict(
        threads=threads,
        cpu_count=os.cpu_count(),
        load_average_1min_at_end=os.getloadavg()[0],
        python=platform.python_version(),
        torch=torch.__version__,
        onnxruntime=onnxruntime.__version__,
        processor=platform.processor() or platform.machine(),
    )


HEADER = (
    f'{"model":<13} {"batch":>5} {"runtime":<12} {"median ms":>10} {"p90 ms":>9} '
    f'{"images/s":>9} {"vs eager":>9}'
)


def print_row(row: dict) -> None:
    for runtime in RUNTIMES:
        figures = row[runtime]
        ratio = row.get(f'{runtime}_speedup', 1.0)
        print(
            f'{row["model"]:<13} {row["batch"]:>5} {runtime:<12} {figures["median_ms"]:>10.2f} '
            f'{figures["p90_ms"]:>9.2f} {figures["images_per_s"]:>9.1f} {ratio:>8.2f}x',
            flush=True,
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    print(
        f'{"quick" if args.quick else "full"} mode: {settings["size"]} px, batches '
        f'{settings["batches"]}, {args.threads} threads, load average {os.getloadavg()[0]:.1f}'
    )
    print(HEADER)
    report = benchmark(args)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
