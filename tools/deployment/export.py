"""Export a trained classifier to ONNX or TorchScript, with ``deploy.json`` beside it.

    python tools/deployment/export.py [CONFIG] CHECKPOINT --format onnx --out DIR
        [--opset 17] [--input-size 224] [--fold-preprocess] [--scores]

Also run as ``mim run mmtl export ...``. DIR receives ``model.onnx`` (or ``model.pt``) and
``deploy.json`` (preprocessing, mean/std, channel order, input size, class names, opset,
versions and the parity measured against the PyTorch model). Without CONFIG the config comes
from the checkpoint's meta (read as data, never run).
"""

import argparse
import json
import os.path as osp
import sys

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    from mmtl.deployment import export_formats

    parser = argparse.ArgumentParser(description='Export a classifier for deployment')
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='[CONFIG] CHECKPOINT',
        help='the config (optional: else the one in the checkpoint) and the checkpoint',
    )
    parser.add_argument('--format', default='onnx', choices=export_formats(), help='format')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--opset', type=int, help='ONNX opset (default: 17)')
    parser.add_argument(
        '--input-size', type=int, help='square input side (default: the test pipeline output)'
    )
    parser.add_argument(
        '--fold-preprocess',
        action='store_true',
        help='normalise inside the graph: the model takes 0-255 pixels',
    )
    parser.add_argument(
        '--input-dtype',
        choices=['uint8', 'float32'],
        help='input type with --fold-preprocess (default: uint8)',
    )
    parser.add_argument('--scores', action='store_true', help='also output softmax scores')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error(f'expected [CONFIG] CHECKPOINT, got {len(args.paths)} paths')
    args.config, args.checkpoint = ([None] + args.paths)[-2:]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.apis import init_model
    from mmtl.deployment import ExportError, export_classifier
    from mmtl.utils.cli import USER_ERRORS

    try:
        model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    except USER_ERRORS as error:  # a checkpoint that does not fit, is unsafe, ...: one line
        print(f'error: {error}', file=sys.stderr)
        return 1
    try:
        meta = export_classifier(
            model,
            args.out,
            export_format=args.format,
            opset=args.opset,
            input_size=args.input_size,
            fold_preprocess=args.fold_preprocess,
            input_dtype=args.input_dtype,
            with_scores=args.scores,
        )
    except ExportError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    parity = meta['parity']
    print(
        f'parity with PyTorch on a random batch of {parity["batch"]}: max abs diff '
        f'{json.dumps(parity["max_abs_diff"])} (atol {parity["atol"]}, rtol {parity["rtol"]})'
    )
    print(f'wrote {osp.join(args.out, meta["model_file"])}')
    print(f'wrote {osp.join(args.out, "deploy.json")}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
