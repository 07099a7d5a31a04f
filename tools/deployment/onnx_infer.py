"""Classify images with an exported ONNX model folder, without mmengine or torch.

    python tools/deployment/onnx_infer.py MODEL_DIR IMAGES... [--topk K] [--out preds.csv|.json]

MODEL_DIR is the output of ``tools/deployment/export.py --format onnx``. Only numpy, OpenCV
and onnxruntime are imported: mmtl's ``onnx_inferencer`` module is loaded by file path, so the
``mmtl`` package (and with it mmengine) is never imported. Also ``mim run mmtl onnx_infer``.
"""

import argparse
import functools
import importlib.util
import os
import os.path as osp
import sys
from typing import Optional, Sequence


@functools.cache
def load_inferencer_module():
    """Import ``mmtl/deployment/onnx_inferencer.py`` by path, without importing the ``mmtl``
    package; it loads the other mmtl files it needs itself (``mmtl_file``).

    Returns:
        module: The loaded module (loaded once per process).

    Raises:
        ImportError: Neither an installed mmtl nor the source tree around this file has it.
    """
    spec = importlib.util.find_spec('mmtl')  # locates the package without running it
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    folders.append(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'mmtl'))
    for folder in folders:
        path = osp.join(folder, 'deployment', 'onnx_inferencer.py')
        if osp.isfile(path):
            module_spec = importlib.util.spec_from_file_location('mmtl_onnx_inferencer', path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    raise ImportError(f'mmtl/deployment/onnx_inferencer.py not found in {folders}')


def prediction_rows():
    """mmtl's ``utils/prediction_rows.py`` (rows, files and safe text), without ``mmtl``."""
    return load_inferencer_module().mmtl_file('prediction_rows.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Classify images with an exported ONNX model')
    parser.add_argument('model_dir', help='folder with model.onnx and deploy.json')
    parser.add_argument('inputs', nargs='+', help='image files or folders')
    parser.add_argument('--out', help='write predictions to this .csv or .json file')
    parser.add_argument(
        '--topk', type=int, default=1, help='classes listed per image, best first (default: 1)'
    )
    parser.add_argument('--batch-size', type=int, default=32, help='images per run')
    parser.add_argument('--threads', type=int, help='onnxruntime intra-op threads')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be at least 1, got {args.topk}')
    return args


def to_rows(results: list, topk: int = 1, classes: Optional[Sequence[str]] = None) -> list:
    """Flatten classifier results into rows, the same layout as ``tools/infer.py`` writes.

    Args:
        results (list[dict]): From ``OnnxClassifier.__call__``.
        topk (int): Classes listed per image. Defaults to 1.
        classes (Sequence[str], optional): Class names by label (``deploy.json``).

    Returns:
        list[dict]: ``image``, ``pred_label``, ``pred_class``, ``pred_score`` and ``topk`` (a
        list of ``{'label', 'class', 'score'}``, best first).
    """
    inference_row = prediction_rows().inference_row
    return [inference_row(result, topk, classes) for result in results]


def write_rows(rows: list, path: str) -> None:
    """Write rows as CSV or JSON, by the file extension."""
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.csv', '.json'):
        raise ValueError(f'--out must end in .csv or .json, got {path}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        prediction_rows().dump_rows(rows, f, ext == '.json')


def main(argv=None) -> int:
    args = parse_args(argv)
    inferencer = load_inferencer_module()
    classifier = inferencer.OnnxClassifier(args.model_dir, num_threads=args.threads)
    num_classes = classifier.num_classes
    if num_classes is not None and args.topk > num_classes:
        print(
            f"onnx_infer.py: error: --topk {args.topk} is more than the model's "
            f'{num_classes} classes ({args.model_dir})',
            file=sys.stderr,
        )
        return 2
    rows_module = prediction_rows()
    safe_text = rows_module.safe_text
    try:
        results = classifier(list(args.inputs), batch_size=args.batch_size)
    except (FileNotFoundError, ValueError) as err:  # no image, or none readable (named)
        print(safe_text(f'onnx_infer.py: error: {err}'), file=sys.stderr)
        return 1
    rows = to_rows(results, args.topk, classifier.classes)
    for row in rows:
        ranked = '\t'.join(f'{safe_text(e["class"])}\t{e["score"]:.4f}' for e in row['topk'])
        print(f'{safe_text(row["image"])}\t{ranked}')
    for path, reason in results.skipped:
        print(f'skipped\t{safe_text(path)}\t{safe_text(reason)}', file=sys.stderr)
    if args.out:
        try:
            write_rows(rows, args.out)
        except OSError as err:  # a full disk: the predictions are on stdout above
            print(
                f'onnx_infer.py: error: cannot write {args.out}: {err.strerror or err}; the '
                f'{len(rows)} predictions are printed above',
                file=sys.stderr,
            )
            return 1
        print(f'wrote {len(rows)} predictions to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
