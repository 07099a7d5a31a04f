"""Show that transfer works, offline: pretrain on digits 0-4, learn 5-9 from k images each.

    python tools/fewshot_digits.py --work-dir work_dirs/fewshot_digits
    mim run mmtl fewshot_digits --shots 5 10 20 --seeds 0 1 2

Prints a markdown table (test top-1 on digits 5-9 per strategy and k, and each strategy's
gain over scratch with its paired interval) and writes it with the raw results to
WORK_DIR/fewshot_results.{md,json}; ``--docs docs/fewshot.md`` also writes it into that page's
generated block ``fewshot``.
"""

import argparse
import json
import os
import os.path as osp
import sys

from experiments import STRATEGIES, format_results_table, run_fewshot_experiment
from experiments.docs_block import check_block, write_block
from experiments.fewshot import (
    AUGMENTATIONS,
    DEFAULT_STRATEGIES,
    PRETRAIN_KEEP,
    RECIPES,
    results_as_dicts,
)

from mmtl.utils.cli import exit_tool
from mmtl.utils.fileio import atomic_open


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/fewshot_digits')
    parser.add_argument('--shots', type=int, nargs='+', default=[5, 10, 20])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--strategies',
        nargs='+',
        default=list(DEFAULT_STRATEGIES),
        choices=list(STRATEGIES),
        help='lp-ft (probe first, then fine-tune) is available but not run by default',
    )
    parser.add_argument('--pretrain-epochs', type=int, default=30)
    parser.add_argument(
        '--pretrain-keep',
        choices=list(PRETRAIN_KEEP),
        default='best',
        help='source model: the best-val checkpoint (early stopping on) or the last epoch',
    )
    parser.add_argument(
        '--augment',
        choices=[*AUGMENTATIONS, *RECIPES],
        default='default',
        help="training pipeline, or one of mmtl's recipe fragments, of the few-shot runs "
        '(every strategy alike)',
    )
    parser.add_argument('--steps', type=int, default=200, help='optimisation steps per run')
    parser.add_argument('--config', default='mobilenet-v2_digits.py')
    parser.add_argument(
        '--pretrained',
        help='reuse WORK_DIR/pretrain/pretrained_backbone.pth of an earlier run (no pretraining)',
    )
    parser.add_argument('--docs', metavar='PAGE', help='also write the table into PAGE')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.docs:
        try:
            check_block(args.docs, 'fewshot')
        except ValueError as error:
            print(f'--docs {error}', file=sys.stderr)
            return 2
    os.makedirs(args.work_dir, exist_ok=True)
    results = run_fewshot_experiment(
        args.work_dir,
        shots=args.shots,
        strategies=args.strategies,
        seeds=args.seeds,
        pretrain_epochs=args.pretrain_epochs,
        steps=args.steps,
        config=args.config,
        pretrained=args.pretrained,
        pretrain_keep=args.pretrain_keep,
        augment=args.augment,
    )
    table = format_results_table(results)
    print(table)
    md_path = osp.join(args.work_dir, 'fewshot_results.md')
    json_path = osp.join(args.work_dir, 'fewshot_results.json')
    with atomic_open(md_path, 'w') as f:
        f.write(table + '\n')
    with atomic_open(json_path, 'w') as f:
        json.dump({'args': vars(args), 'results': results_as_dicts(results)}, f, indent=2)
    print(f'results written to {md_path} and {json_path}')
    if args.docs:
        write_block(
            args.docs, 'fewshot', ' '.join(['python tools/fewshot_digits.py'] + argv), table
        )
        print(f'table written to {args.docs}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
