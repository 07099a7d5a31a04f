"""Compare two models on the same test images: paired test, and whether the gap could be noise.

    python tools/compare.py A B [--config CONFIG [CONFIG_B]] [--names NAME_A NAME_B]
                                [--alpha 0.05] [--out comparison.json] [--cfg-options ...]
    mim run mmtl compare work_dirs/scratch/preds.csv work_dirs/finetune/preds.csv

A and B are prediction files of ``tools/test.py --out preds.csv|preds.json``, or checkpoints
(``.pth``), which are tested first with ``--config`` (one config for both, or one each) in a
separate ``tools/test.py`` process each. The images are matched by path; both files must hold
the same test images with the same true classes.

Prints both top-1 accuracies with 95 % intervals, the difference B - A with its paired
bootstrap interval, McNemar's test (exact binomial when few images differ) and a verdict:
"B is better", "A is better", or "could be noise". ``--out`` also writes them as JSON.
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import List, Optional

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool

PREDICTION_EXTENSIONS = ('.csv', '.json')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('a', help='predictions (.csv/.json of tools/test.py --out) or checkpoint')
    parser.add_argument('b', help='the other model, on the same test images')
    parser.add_argument(
        '--config',
        nargs='+',
        metavar='CONFIG',
        help='config(s) to test checkpoints with: one for both, or one for A and one for B',
    )
    parser.add_argument('--names', nargs=2, metavar=('NAME_A', 'NAME_B'), help='for the report')
    parser.add_argument('--alpha', type=float, default=0.05, help='significance level')
    parser.add_argument('--out', metavar='FILE.json', help='also write the comparison as JSON')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='config overrides for testing'
    )
    args = parser.parse_args(argv)
    if not 0 < args.alpha < 0.5:
        parser.error(f'--alpha {args.alpha}: must be between 0 and 0.5')
    if args.config and len(args.config) > 2:
        parser.error(f'--config takes one or two configs, got {len(args.config)}')
    needs_test = [path for path in (args.a, args.b) if not is_prediction_file(path)]
    if needs_test and not args.config:
        parser.error(f'{needs_test[0]} is no .csv/.json predictions file: give --config to test it')
    if args.out and not args.out.lower().endswith('.json'):
        parser.error(f'--out {args.out}: must end in .json')
    return args


def is_prediction_file(path: str) -> bool:
    """Whether ``path`` names predictions (else a checkpoint to test)."""
    return osp.splitext(path)[1].lower() in PREDICTION_EXTENSIONS


def run_test(config: str, checkpoint: str, out_dir: str, cfg_options: List[str]) -> str:
    """Run ``tools/test.py`` on a checkpoint in its own process; return its predictions file."""
    os.makedirs(out_dir, exist_ok=True)
    predictions = osp.join(out_dir, 'preds.csv')
    command = [sys.executable, osp.join(osp.dirname(osp.abspath(__file__)), 'test.py')]
    command += [config, checkpoint, '--work-dir', out_dir, '--out', predictions]
    if cfg_options:
        command += ['--cfg-options', *cfg_options]
    print(f'testing {checkpoint} with {config}', flush=True)
    if subprocess.run(command).returncode != 0:
        from mmtl.utils.errors import CheckpointError

        raise CheckpointError(f'testing {checkpoint} with {config} failed (see above)')
    return predictions


def cfg_option_args(options: Optional[dict]) -> List[str]:
    """``--cfg-options`` as ``key=value`` arguments again, for the test processes."""
    return [f'{key}={value}' for key, value in (options or {}).items()]


def compare(args: argparse.Namespace) -> None:
    from mmtl.analysis.error_analysis import read_predictions
    from mmtl.evaluation.comparison import paired_correctness
    from mmtl.evaluation.statistics import compare_correct
    from mmtl.utils.errors import BadDataError
    from mmtl.utils.fileio import atomic_open

    names = args.names or [args.a, args.b]
    with tempfile.TemporaryDirectory(prefix='mmtl_compare_') as scratch:
        files = []
        for index, path in enumerate((args.a, args.b)):
            if is_prediction_file(path):
                files.append(path)
                continue
            config = args.config[min(index, len(args.config) - 1)]
            out_dir = osp.join(scratch, 'ab'[index])
            files.append(run_test(config, path, out_dir, cfg_option_args(args.cfg_options)))
        try:
            rows = [read_predictions(path) for path in files]
        except ValueError as err:
            raise BadDataError(str(err)) from err
    correct_a, correct_b, _ = paired_correctness(rows[0], rows[1], *names)
    result = compare_correct(correct_a, correct_b, args.alpha)
    percent = round(100 * (1 - args.alpha))
    for name, accuracy in zip(names, (result.accuracy_a, result.accuracy_b)):
        print(f'{name}: top-1 {accuracy.format()} % ({percent} % interval)')
    test = result.mcnemar
    print(
        f'McNemar ({test.method}): {test.only_a} images only {names[0]} gets right, '
        f'{test.only_b} only {names[1]}; p = {test.p_value:.3g}'
    )
    print(result.verdict(*names), flush=True)
    if args.out:
        with atomic_open(args.out, 'w') as f:
            json.dump(dict(result.to_dict(), names=list(names)), f, indent=2)
        print(f'comparison written to {args.out}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    compare(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
