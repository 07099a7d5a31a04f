"""Classify images with an exported ONNX model folder, without mmengine or torch.

    python tools/deployment/onnx_infer.py MODEL_DIR IMAGES... [--out preds.csv|preds.json]

MODEL_DIR is the output of ``tools/deployment/export.py --format onnx``. Only numpy, OpenCV
and onnxruntime are imported: mmtl's ``onnx_inferencer`` module is loaded by file path, so the
``mmtl`` package (and with it mmengine) is never imported. Also ``mim run mmtl onnx_infer``.
"""

import argparse
import csv
import importlib.util
import json
import os
import os.path as osp
import sys


def load_inferencer_module():
    """Import ``mmtl/deployment/onnx_inferencer.py`` without importing the ``mmtl`` package."""
    spec = importlib.util.find_spec('mmtl')  # locates the package without running it
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [osp.join(p, 'deployment') for p in spec.submodule_search_locations]
    here = osp.dirname(osp.abspath(__file__))
    candidates.append(osp.join(here, '..', '..', 'mmtl', 'deployment'))
    for folder in candidates:
        path = osp.join(folder, 'onnx_inferencer.py')
        if osp.isfile(path):
            module_spec = importlib.util.spec_from_file_location('mmtl_onnx_inferencer', path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    raise ImportError(f'onnx_inferencer.py not found in {candidates}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Classify images with an exported ONNX model')
    parser.add_argument('model_dir', help='folder with model.onnx and deploy.json')
    parser.add_argument('inputs', nargs='+', help='image files or folders')
    parser.add_argument('--out', help='write predictions to this .csv or .json file')
    parser.add_argument('--batch-size', type=int, default=32, help='images per run')
    parser.add_argument('--threads', type=int, help='onnxruntime intra-op threads')
    return parser.parse_args(argv)


def to_rows(results: list) -> list:
    """Results -> rows with image, pred_label, pred_class, pred_score."""
    return [
        {
            'image': r.get('img_path', ''),
            'pred_label': r['pred_label'],
            'pred_class': r.get('pred_class', str(r['pred_label'])),
            'pred_score': round(r['pred_score'], 6),
        }
        for r in results
    ]


def write_rows(rows: list, path: str) -> None:
    """Write rows as CSV or JSON, by the file extension."""
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.csv', '.json'):
        raise ValueError(f'--out must end in .csv or .json, got {path}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        if ext == '.json':
            json.dump(rows, f, indent=2)
        else:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    inferencer = load_inferencer_module()
    classifier = inferencer.OnnxClassifier(args.model_dir, num_threads=args.threads)
    images = inferencer.expand_inputs(args.inputs)
    rows = to_rows(classifier(images, batch_size=args.batch_size))
    for row in rows:
        print(f'{row["image"]}\t{row["pred_class"]}\t{row["pred_score"]:.4f}')
    if args.out:
        write_rows(rows, args.out)
        print(f'wrote {len(rows)} predictions to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
