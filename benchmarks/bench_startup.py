"""Start-up time: ``import mmtl`` against ``import mmpretrain``, a tool's ``--help``, a small tool.

    python benchmarks/bench_startup.py [--quick | --tiny] [--rounds N] [--out FILE]

Runs, in fresh interpreters and interleaved round by round (the same background load for
each), ``python -c "import torch"``, ``import mmpretrain``, ``import mmtl``,
``python tools/train.py --help`` and ``python tools/check_dataset.py`` on 100 small JPEG
images; prints the median seconds of each and the same-run ratios against the #16 goals:
``import mmtl`` <= 1.1 x ``import mmpretrain``, ``--help`` < 1 s, the small tool < 2 x
``import torch``.
"""

import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List

from common import (
    REPO_ROOT,
    format_table,
    goal,
    goal_table,
    make_jpeg_folder,
    parse_args,
    ratio,
    write_result,
)

#: Rounds (fresh interpreters per command) for each size.
ROUNDS = {'tiny': 1, 'quick': 3, 'full': 7}

#: The goals of issue #16 "Start-up".
GOAL_IMPORT_RATIO = 1.1  # import mmtl / import mmpretrain, at most
GOAL_HELP_SECONDS = 1.0  # tools/train.py --help, under
GOAL_TOOL_RATIO = 2.0  # check_dataset on 100 images / import torch, under


def commands(data_root: str) -> Dict[str, List[str]]:
    """The timed command lines, by name (each run in a fresh interpreter)."""
    py = sys.executable
    return {
        'import torch': [py, '-c', 'import torch'],
        'import mmpretrain': [py, '-c', 'import mmpretrain'],
        'import mmtl': [py, '-c', 'import mmtl'],
        'train.py --help': [py, osp.join(REPO_ROOT, 'tools', 'train.py'), '--help'],
        'check_dataset (100 images)': [
            py,
            osp.join(REPO_ROOT, 'tools', 'check_dataset.py'),
            data_root,
        ],
    }


def run_seconds(cmd: List[str], env: dict) -> float:
    """Wall-clock seconds of one run of ``cmd``; raises when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f'{" ".join(cmd)} failed (exit {proc.returncode}): {proc.stderr[-2000:]}'
        )
    return seconds


def main(argv=None) -> int:
    args = parse_args('startup', __doc__.splitlines()[0], argv)
    rounds = ROUNDS[args.size]
    # 100 small photos (2 classes x 50, 64 x 48) in <root>/train/<class>/.
    data_root = osp.join(args.data_dir, 'startup_100')
    make_jpeg_folder(osp.join(data_root, 'train'), 64, 48, per_class=50)
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS=str(args.threads))
    cmds = commands(data_root)

    times: Dict[str, List[float]] = {name: [] for name in cmds}
    load_before = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    for _ in range(rounds):
        for name, cmd in cmds.items():
            times[name].append(run_seconds(cmd, env))
    load_after = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    median = {name: statistics.median(values) for name, values in times.items()}

    import_ratio = ratio(median['import mmtl'], median['import mmpretrain'])
    help_seconds = round(median['train.py --help'], 4)
    tool_ratio = ratio(median['check_dataset (100 images)'], median['import torch'])
    goals = {
        'import mmtl / import mmpretrain': goal(import_ratio, GOAL_IMPORT_RATIO, '<='),
        'train.py --help (s)': goal(help_seconds, GOAL_HELP_SECONDS, '<'),
        'check_dataset / import torch': goal(tool_ratio, GOAL_TOOL_RATIO, '<'),
    }
    table = format_table(
        ['command', 'median s', 'runs (s)'],
        [[name, median[name], ' '.join(f'{t:.2f}' for t in times[name])] for name in cmds],
    )
    table += '\n\n' + goal_table('goal (#16 start-up)', goals)
    table += (
        f'\n\n{rounds} interleaved rounds; load average {load_before} before, {load_after} after.'
    )
    result = dict(
        size=args.size,
        rounds=rounds,
        seconds=times,
        median_seconds=median,
        goals=goals,
        load_avg_before=load_before,
        load_avg_after=load_after,
    )
    write_result(args.out, 'startup', result, table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
