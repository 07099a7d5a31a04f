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

``--docs [PAGE]`` also writes the tables into PAGE (default ``docs/benchmark_results.md``), one
section per benchmark that ran and succeeded, each naming its command, date, CPUs and load; the
sections of benchmarks that did not run this time are kept as they were. The docs quote this
page rather than copies of its tables.
"""

import argparse
import datetime
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(HERE)
DOCS_PAGE = osp.join(REPO_ROOT, 'docs', 'benchmark_results.md')


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
    if script.startswith(REPO_ROOT + os.sep):
        script = osp.relpath(script, REPO_ROOT)
    shown = ['python', script] + (['--quick'] if quick else []) + extra
    return dict(
        name=name,
        returncode=proc.returncode,
        seconds=seconds,
        json=out,
        text=text,
        command=' '.join(shown),
        date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
    )


DOCS_HEADER = """# Benchmark results (generated)

Written by `bash benchmarks/run_all.sh [--quick] [--only NAME ...] --docs` (the same as
`python benchmarks/run_all.py ... --docs {path}`): do not edit by hand, re-run it. Each
section is one benchmark's tables as it printed them, with the command, the date, the CPUs
and the load average at the end of that run; a run of some benchmarks replaces only their
sections. Ratios are same-run; absolute figures move with the load of the shared machine.
"""


def read_doc_sections(path: str) -> Dict[str, str]:
    """Benchmark name -> its section (``## name`` to the next one) of an existing page."""
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        text = f.read()
    parts = re.split(r'^## ', text, flags=re.MULTILINE)[1:]
    return {part.split('\n', 1)[0].split()[0]: '## ' + part.rstrip('\n') + '\n' for part in parts}


def write_docs(path: str, results: List[dict], cpus: int, load: float) -> None:
    """Write (or update) the generated page ``path`` with the successful ``results``."""
    sections = read_doc_sections(path)
    for r in results:
        if r['returncode'] != 0:
            continue
        sections[r['name']] = (
            f'## {r["name"]}\n\n`{r["command"]}`: {r["date"]}, {cpus} CPUs, load average '
            f'{load:.1f} at the end, {r["seconds"]:.0f} s\n\n{r["text"].strip()}\n'
        )
    body = '\n'.join(sections[name] for name in sorted(sections))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(DOCS_HEADER.format(path=osp.relpath(path, REPO_ROOT)) + '\n' + body)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='pass --quick to every benchmark')
    parser.add_argument('--out-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'benchmarks'))
    parser.add_argument('--only', nargs='+', default=None, help='benchmark names to run')
    parser.add_argument(
        '--docs',
        nargs='?',
        const=DOCS_PAGE,
        default=None,
        metavar='PAGE',
        help=f'also write the tables into PAGE (default {osp.relpath(DOCS_PAGE, REPO_ROOT)})',
    )
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
    if args.docs:
        write_docs(args.docs, results, os.cpu_count() or 0, load)
        print(f'wrote {args.docs}')
    return 0 if all(r['returncode'] == 0 for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
