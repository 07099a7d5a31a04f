"""Classify images with a trained model and print (or save) the predictions.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] [--out preds.csv|preds.json]

INPUT is an image file, a folder (searched recursively) or a glob such as 'photos/*.jpg'.
Also run as ``mim run mmtl infer CONFIG CHECKPOINT INPUT ...``.
"""

import argparse
import csv
import json
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Classify images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file or URL')
    parser.add_argument('inputs', nargs='+', help='image files, folders or globs')
    parser.add_argument('--out', help='write predictions to this .csv or .json file')
    parser.add_argument('--batch-size', type=int, default=32, help='images per batch')
    parser.add_argument('--topk', type=int, default=3, help='classes listed per image (JSON)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    return parser.parse_args(argv)


def prediction_rows(results: list, topk: int) -> list:
    """Flatten inference results into JSON/CSV-friendly rows."""
    rows = []
    for result in results:
        scores = result['pred_scores']
        order = scores.argsort()[::-1][:topk]
        row = {
            'image': result.get('img_path', ''),
            'pred_label': int(result['pred_label']),
            'pred_class': result.get('pred_class', str(result['pred_label'])),
            'pred_score': round(float(result['pred_score']), 6),
        }
        row['topk'] = [{'label': int(i), 'score': round(float(scores[i]), 6)} for i in order]
        rows.append(row)
    return rows


def write_rows(rows: list, path: str) -> None:
    """Write rows as CSV or JSON, chosen by the file extension."""
    from mmtl.utils.fileio import atomic_open

    ext = osp.splitext(path)[1].lower()
    if ext == '.json':
        with atomic_open(path, 'w') as f:
            json.dump(rows, f, indent=2)
    elif ext == '.csv':
        with atomic_open(path, 'w') as f:
            writer = csv.DictWriter(
                f, fieldnames=['image', 'pred_label', 'pred_class', 'pred_score']
            )
            writer.writeheader()
            writer.writerows({k: row[k] for k in writer.fieldnames} for row in rows)
    else:
        raise ValueError(f'--out must end in .csv or .json, got {path!r}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.apis import inference_model, init_model
    from mmtl.utils.cli import run_with_clear_errors

    def infer() -> None:
        model = init_model(args.config, args.checkpoint, device=args.device)
        results = inference_model(model, list(args.inputs), batch_size=args.batch_size)
        rows = prediction_rows(results, args.topk)
        for row in rows:
            print(f'{row["image"]}\t{row["pred_class"]}\t{row["pred_score"]:.4f}')
        if args.out:
            write_rows(rows, args.out)
            print(f'predictions for {len(rows)} images written to {args.out}')

    return run_with_clear_errors(infer)


if __name__ == '__main__':
    sys.exit(main())
