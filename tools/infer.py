"""Classify images with a trained model and print (or save) the predictions.

    python tools/infer.py [CONFIG] CHECKPOINT INPUT [INPUT ...] [--out preds.csv|preds.json]
                          [--topk K] [--batch-size N] [--device auto|cpu|cuda|cuda:N]
                          [--no-progress] [--cfg-options KEY=VALUE ...]

Without CONFIG (the first argument is then no ``.py``/``.json``/``.yaml`` file) the model is
built from the checkpoint's model card: one of mmtl's base models and a few checked values
(``mmtl/config/model_card.py``); nothing in the checkpoint is run.

INPUT is an image file, a folder (searched recursively) or a glob such as 'photos/*.jpg'
(quote it). Each image gets one row: image, predicted class, label and score, and its top-K
classes with scores. Class names come from the checkpoint, so no dataset is needed.
Also run as ``mim run mmtl infer [CONFIG] CHECKPOINT INPUT ...``.
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import add_device_argument, resolve_device

OUTPUT_FORMATS = ('.csv', '.json')


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Classify images')
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='[CONFIG] CHECKPOINT INPUT',
        help='the config (optional: else the one in the checkpoint), the checkpoint file or '
        'URL, then image files, folders or globs',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys (put this option after the paths)',
    )
    parser.add_argument('--out', help='write predictions to this .csv or .json file')
    parser.add_argument('--batch-size', type=int, default=32, help='images per batch')
    parser.add_argument('--topk', type=int, default=3, help='classes listed per image')
    add_device_argument(parser)
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    split_paths(parser, args)
    if args.out and osp.splitext(args.out)[1].lower() not in OUTPUT_FORMATS:
        parser.error(f'--out must end in .csv or .json, got {args.out!r}')
    if args.topk < 1:
        parser.error(f'--topk must be at least 1, got {args.topk}')
    return args


def split_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``[CONFIG] CHECKPOINT INPUT...`` into ``config`` (or None), ``checkpoint``, ``inputs``."""
    from mmtl.apis.inference import is_config_path

    paths = list(args.paths)
    args.config = paths.pop(0) if is_config_path(paths[0]) else None
    if len(paths) < 2:
        parser.error('expected [CONFIG] CHECKPOINT INPUT [INPUT ...]: no checkpoint or no input')
    args.checkpoint, args.inputs = paths[0], paths[1:]


def prediction_rows(
    results: List[dict], topk: int, classes: Optional[Sequence[str]] = None
) -> List[dict]:
    """Flatten inference results into JSON/CSV-friendly rows.

    Args:
        results (list[dict]): From :func:`mmtl.apis.inference_model`.
        topk (int): Classes listed per image (at most the number of classes).
        classes (Sequence[str], optional): Class names, by label.

    Returns:
        list[dict]: ``image``, ``pred_label``, ``pred_class``, ``pred_score`` and ``topk``
        (a list of ``{'label', 'class', 'score'}``, best first).
    """
    from mmtl.utils.prediction_rows import inference_row

    return [inference_row(result, topk, classes) for result in results]


def write_rows(rows: List[dict], path: str) -> None:
    """Write rows as CSV or JSON, chosen by the file extension (atomically)."""
    from mmtl.utils.fileio import atomic_open
    from mmtl.utils.prediction_rows import dump_rows, is_json_path

    with atomic_open(path, 'w') as f:
        dump_rows(rows, f, is_json_path(path))


def report_skipped(skipped) -> None:
    """Name each input file that could not be classified, then count them (stderr).

    Args:
        skipped (Sequence[tuple[str, str]]): ``(path, reason)`` pairs.
    """
    from mmtl.utils.prediction_rows import safe_text

    for path, reason in skipped:
        print(f'skipped\t{safe_text(path)}\t{safe_text(reason)}', file=sys.stderr)
    if skipped:
        noun = 'file' if len(skipped) == 1 else 'files'
        print(
            f'{len(skipped)} {noun} skipped (reasons above); the rest were classified',
            file=sys.stderr,
        )


def print_rows(rows: List[dict]) -> None:
    """One line per image on stdout: image, predicted class, score (names escaped)."""
    from mmtl.utils.prediction_rows import safe_text

    for row in rows:
        image, name = safe_text(row['image']), safe_text(row['pred_class'])
        print(f'{image}\t{name}\t{row["pred_score"]:.4f}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.apis import inference_model, init_model
    from mmtl.utils.errors import UserError

    def infer() -> None:
        model = init_model(
            args.config,
            args.checkpoint,
            device=resolve_device(args.device),
            cfg_options=args.cfg_options,
        )
        results = inference_model(
            model, list(args.inputs), batch_size=args.batch_size, progress=not args.no_progress
        )
        rows = prediction_rows(results, args.topk, model._dataset_meta.get('classes'))
        print_rows(rows)
        report_skipped(getattr(results, 'skipped', ()))
        if args.out:
            try:
                write_rows(rows, args.out)
            except OSError as err:  # a full disk: the predictions are on stdout above
                raise UserError(
                    f'cannot write {args.out}: {err.strerror or err}; the {len(rows)} '
                    f'predictions are printed above'
                ) from None
            print(f'predictions for {len(rows)} images written to {args.out}')

    try:
        infer()
    except ValueError as err:  # e.g. an image file that cannot be decoded (named)
        from mmtl.utils.prediction_rows import safe_text

        print(safe_text(f'error: {err}'), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    exit_tool(main)
