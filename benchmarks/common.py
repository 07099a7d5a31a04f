"""Helpers shared by the benchmark scripts: sizes, timing, tables, JSON and test images.

Every benchmark takes ``--quick`` (``run_all.sh --quick``: a few seconds to a minute) or
``--tiny`` (a smoke run for the tests; figures meaningless), else runs the full size for the
README; ``--out FILE`` is the JSON it writes (default ``work_dirs/benchmarks/<name>.json``),
and ``--threads`` the PyTorch threads (default 1: on a shared, busy CPU several OpenMP
threads per process stall and make the figures noise). Figures that are compared are
measured in the same run, interleaved where possible, because the machines are shared.
"""

import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Run as `python benchmarks/bench_x.py` from anywhere; tools/ holds the digits experiments.
for _path in (REPO_ROOT, osp.join(REPO_ROOT, 'tools')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

DEFAULT_OUT = osp.join(REPO_ROOT, 'work_dirs', 'benchmarks')
DEFAULT_DATA = osp.join(REPO_ROOT, 'data', 'bench')


def parse_args(
    name: str,
    description: str,
    argv: Optional[Sequence[str]] = None,
    add_arguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
) -> argparse.Namespace:
    """The command-line options every benchmark has; ``args.size`` is tiny, quick or full.

    ``add_arguments(parser)``, when given, adds the benchmark's own options.
    """
    parser = argparse.ArgumentParser(description=description)
    if add_arguments is not None:
        add_arguments(parser)
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--quick', action='store_true', help='small sizes (about a minute)')
    group.add_argument('--tiny', action='store_true', help='smoke-test sizes (seconds)')
    parser.add_argument(
        '--out', default=osp.join(DEFAULT_OUT, f'{name}.json'), help='JSON file to write'
    )
    parser.add_argument(
        '--data-dir', default=DEFAULT_DATA, help='folder for generated images (reused)'
    )
    parser.add_argument(
        '--workers', type=int, default=None, help='dataloader workers (default: size-dependent)'
    )
    parser.add_argument('--threads', type=int, default=1, help='PyTorch threads (default 1)')
    args = parser.parse_args(argv)
    args.size = 'tiny' if args.tiny else 'quick' if args.quick else 'full'
    import torch

    torch.set_num_threads(args.threads)
    return args


def machine() -> dict:
    """What the figures were measured on."""
    import torch

    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {
        'cpus': len(os.sched_getaffinity(0))
        if hasattr(os, 'sched_getaffinity')
        else os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'load_avg_1min': load,
        'python': platform.python_version(),
        'torch': torch.__version__,
        'cuda': torch.cuda.is_available(),
    }


def timed(func: Callable[[], object], repeat: int = 1) -> float:
    """Seconds per call of ``func`` (mean of ``repeat`` calls)."""
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat


def interleaved_best(funcs: Dict[str, Callable[[], object]], rounds: int) -> Dict[str, object]:
    """Run each measuring function ``rounds`` times, alternating, and keep each one's minimum
    (per key when the functions return dicts of figures).

    Alternating puts every contender under the same background load; the minimum is the
    figure least disturbed by other processes.
    """
    best: Dict[str, object] = {}
    for _ in range(rounds):
        for name, func in funcs.items():
            value = func()
            if name not in best:
                best[name] = value
            elif isinstance(value, dict):
                best[name] = {k: min(v, best[name][k]) for k, v in value.items()}
            else:
                best[name] = min(value, best[name])
    return best


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` rounded for the record."""
    return round(numerator / denominator, 4)


def format_table(headers: List[str], rows: List[List[object]]) -> str:
    """A markdown table."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f'{value:.4g}' if abs(value) < 1e5 else f'{value:.0f}'
        return str(value)

    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


#: How a goal compares a value with its target.
GOAL_TESTS = {
    '>=': lambda value, target: value >= target,
    '<=': lambda value, target: value <= target,
    '<': lambda value, target: value < target,
}


def goal(value: float, target: float, test: str = '>=') -> dict:
    """One goal's record: the same-run ``value``, the target (``'>= 3.0'``) and whether met.

    Args:
        value (float): The measured same-run figure.
        target (float): The goal's figure.
        test (str): ``'>='``, ``'<='`` or ``'<'`` (value against target). Defaults to ``'>='``.

    Returns:
        dict: ``value``, ``goal`` (text) and ``met`` (bool).
    """
    return dict(value=value, goal=f'{test} {target}', met=bool(GOAL_TESTS[test](value, target)))


def goal_table(title: str, goals: Dict[str, dict]) -> str:
    """Markdown table of :func:`goal` records (``goal``, same-run value, target, met)."""
    return format_table(
        [title, 'same-run value', 'goal', 'met'],
        [[name, g['value'], g['goal'], 'yes' if g['met'] else 'no'] for name, g in goals.items()],
    )


def write_result(path: str, name: str, result: dict, table: str) -> str:
    """Print ``table`` and write ``result`` (with the machine and the table) as JSON."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    result = dict(result, benchmark=name, machine=machine(), table=table)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2)
    print(table)
    print(f'wrote {path}')
    return path


# --------------------------------------------------------------------------------------
# Natural-looking test photos: scikit-learn's two sample photos, cropped, scaled, jittered.
# --------------------------------------------------------------------------------------
def _sample_photos() -> List[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)  # RGB uint8, 427 x 640


def synthetic_photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An RGB photo of ``width x height``: a random crop of a real photo, resized, with
    colour jitter and sensor-like noise (so that JPEG sizes resemble camera files)."""
    import cv2

    photo = _sample_photos()[int(rng.integers(2))]
    h, w = photo.shape[:2]
    crop_w = int(w * rng.uniform(0.6, 1.0))
    crop_h = min(h, int(crop_w * height / width))
    x0, y0 = int(rng.integers(0, w - crop_w + 1)), int(rng.integers(0, h - crop_h + 1))
    crop = photo[y0 : y0 + crop_h, x0 : x0 + crop_w]
    img = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    img *= rng.uniform(0.8, 1.2, size=3)
    img += rng.normal(0, 3.0, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_jpeg_folder(
    root: str, width: int, height: int, per_class: int, classes: int = 2, quality: int = 90
) -> str:
    """Write ``root/<class>/<i>.jpg`` photos once; reuse them when they already exist.

    Returns:
        str: ``root``.
    """
    from PIL import Image

    marker = osp.join(root, '.complete')
    if osp.isfile(marker):
        return root
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = osp.join(root, f'class_{c}')
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            img = Image.fromarray(synthetic_photo(rng, width, height))
            img.save(osp.join(folder, f'{i:04d}.jpg'), quality=quality)
    open(marker, 'w').close()
    return root
