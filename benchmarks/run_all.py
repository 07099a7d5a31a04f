"""Run every ``benchmarks/bench_*.py`` and collect their tables into one markdown file.

    python benchmarks/run_all.py [--quick] [--out-dir work_dirs/benchmarks]

Each benchmark runs in its own process with ``--out <out-dir>/<name>.json`` (and ``--quick``
when given); the tables they record (or, for a benchmark whose JSON has no ``table``, the
end of what it printed) go to ``<out-dir>/summary.md``, which is also printed. A benchmark
that fails is reported in the summary and makes the exit status 1; the others still run.
Other options are passed on to every benchmark (e.g. ``--threads 2``); ``--only NAME ...``
picks benchmarks by name (``data_pipeline``, ``framework``, ``inference``, ``scale``,
``export``, ``precision``, ``peers``, ``startup``, ``gpu``; ``gpu`` reports "skipped" without a
GPU).
"""

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(HERE)


def benchmark_scripts(pattern: str = 'bench_*.py') -> list:
    """The benchmark scripts, sorted by name."""
    return sorted(glob.glob(osp.join(HERE, pattern)))


def run_one(script: str, out_dir: str, quick: bool, extra: list) -> dict:
    """Run one benchmark; return its name, status, seconds, JSON path and summary text."""
    name = osp.splitext(osp.basename(script))[0][len('bench_') :]
    out = osp.join(out_dir, f'{name}.json')
    cmd = [sys.executable, script, '--out', out] + (['--quick'] if quick else []) + extra
    print(f'== {name}: {" ".join(cmd)}', flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    text = ''
    if proc.returncode == 0 and osp.isfile(out):
        with open(out) as f:
            text = json.load(f).get('table', '')
    if not text:
        lines = [line for line in proc.stdout.splitlines() if 'warn' not in line.lower()]
        text = '```\n' + '\n'.join(lines[-25:] or proc.stderr.splitlines()[-25:]) + '\n```'
    print(text, flush=True)
    return dict(name=name, returncode=proc.returncode, seconds=seconds, json=out, text=text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='pass --quick to every benchmark')
    parser.add_argument('--out-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'benchmarks'))
    parser.add_argument('--only', nargs='+', default=None, help='benchmark names to run')
    args, extra = parser.parse_known_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    scripts = benchmark_scripts()
    if args.only:
        scripts = [s for s in scripts if osp.basename(s)[len('bench_') : -3] in args.only]
    results = [run_one(script, args.out_dir, args.quick, extra) for script in scripts]
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    lines = [
        f'# Benchmarks ({"quick" if args.quick else "full"}), '
        f'{os.cpu_count()} CPUs, load average {load:.1f} at the end',
        '',
    ]
    for r in results:
        status = 'ok' if r['returncode'] == 0 else f'FAILED (exit {r["returncode"]})'
        lines += [f'## {r["name"]} ({status}, {r["seconds"]:.0f} s)', '', r['text'], '']
    summary = osp.join(args.out_dir, 'summary.md')
    with open(summary, 'w') as f:
        f.write('\n'.join(lines))
    print(f'wrote {summary}')
    return 0 if all(r['returncode'] == 0 for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
