"""Cross-validate configs on your own image folder: k folds x repeats, leaderboard, label issues.

    python tools/cross_validate.py CONFIG [CONFIG ...] [--folds 5] [--repeats 1] [--seed 0]
        [--work-dir work_dirs/cv] [--splits train val] [--issues 24] [--cfg-options ...]
    mim run mmtl cross_validate configs/mobilenet-v2_digits.py --folds 5

The images of ``<data_root>/train`` and ``<data_root>/val`` (``--splits``) are pooled and cut
into k stratified folds (``--repeats`` reshuffles them). Run f of a repeat tests on fold f,
validates on fold f+1 and trains on the rest, each training in its own ``tools/train.py``
process, on symlinked folders under ``<work_dir>/data/``. ``<data_root>/test`` is left alone.

One line is printed per run. The command is resumable: rerun it and finished runs (those with
a ``result.json``) are skipped. At the end it prints, for each config, the mean +- std of the
test top-1 over runs with a 95 % t interval and the pooled out-of-fold top-1 with its Wilson
interval, and writes into the work dir:

- ``leaderboard.md`` / ``leaderboard.csv``: configs by mean top-1, with McNemar's test of
  each against the best on the out-of-fold predictions (first repeat);
- ``label_issues.csv``: every image of the best config, most doubtful label first (confident
  learning on the out-of-fold probabilities, averaged over repeats);
- ``label_issues.png``: the first ``--issues`` of them, captioned with their file names.
"""

import argparse
import csv
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List, Optional

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool
from mmtl.utils.processes import run_logged

TOOLS = osp.dirname(osp.abspath(__file__))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files to compare on the same folds')
    parser.add_argument('--folds', type=int, default=5, help='k (at least 3). Default 5')
    parser.add_argument('--repeats', type=int, default=1, help='reshuffles of the folds')
    parser.add_argument('--seed', type=int, default=0, help='seed of the first shuffle')
    parser.add_argument('--work-dir', default='work_dirs/cv', help='default: work_dirs/cv')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val'],
        help='sub-folders of data_root whose images are pooled. Default: train val',
    )
    parser.add_argument('--issues', type=int, default=24, help='images in the label gallery')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='config overrides for every run'
    )
    # internal: score one trained run (a separate process, started by this tool)
    parser.add_argument('--score-run', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.folds < 3:
        parser.error(f'--folds {args.folds}: at least 3 (test, validate, train)')
    if args.repeats < 1 or args.issues < 0:
        parser.error('--repeats must be at least 1 and --issues at least 0')
    return args


def option_args(options: Optional[dict]) -> List[str]:
    """``--cfg-options`` back as ``key=value`` arguments for the child processes."""
    return [f'{key}={value}' for key, value in (options or {}).items()]


# --------------------------------------------------------------------------------------------
# The images and the plan
# --------------------------------------------------------------------------------------------


def list_images(data_root: str, splits: List[str]) -> Dict[str, list]:
    """Class names (the sub-folders of ``train``), image paths and labels of the splits."""
    from mmtl.datasets.listing import IMG_EXTENSIONS, list_class_folders, list_image_files
    from mmtl.utils.errors import BadDataError

    train = osp.join(data_root, 'train')
    if not osp.isdir(train):
        raise BadDataError(f'data_root={data_root}: no train/ folder of class folders')
    classes = list_class_folders(train)
    files, labels = [], []
    for split in splits:
        for label, name in enumerate(classes):
            folder = osp.join(data_root, split, name)
            if osp.isdir(folder):
                found = list_image_files(folder, IMG_EXTENSIONS)
                files += [osp.relpath(path, data_root) for path in found]
                labels += [label] * len(found)
    if not files:
        raise BadDataError(f'data_root={data_root}: no images in {", ".join(splits)}')
    return {'classes': classes, 'files': files, 'labels': labels}


def load_or_write_plan(work_dir: str, plan: dict) -> None:
    """Write ``plan.json``, or check that a resumed work dir was made for the same plan."""
    from mmtl.utils.errors import ConfigError
    from mmtl.utils.fileio import atomic_open

    path = osp.join(work_dir, 'plan.json')
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != plan:
            changed = sorted(key for key in plan if old.get(key) != plan[key])
            raise ConfigError(
                f'{path} was made for other {", ".join(changed)}: resume with the same '
                'arguments and images, or choose another --work-dir'
            )
        return
    os.makedirs(work_dir, exist_ok=True)
    with atomic_open(path, 'w') as f:
        json.dump(plan, f)


def link_split(data_root: str, plan: dict, split, out_dir: str) -> None:
    """``out_dir/{train,val,test}/<class>/`` of symlinks to the images of one run.

    The files at the top of ``data_root`` (such as a ``classes.txt`` the config names) are
    linked too. The folder is made under another name and renamed when complete.
    """
    if osp.isdir(out_dir):
        return
    partial = out_dir + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    for part in ('train', 'val', 'test'):
        for name in plan['classes']:  # every class folder, also where a part has no image
            os.makedirs(osp.join(partial, part, name), exist_ok=True)
        for index in getattr(split, part):
            source = osp.abspath(osp.join(data_root, plan['files'][index]))
            name = plan['classes'][plan['labels'][index]]
            target = osp.join(partial, part, name, f'{index:06d}_{osp.basename(source)}')
            os.symlink(source, target)
    for entry in os.scandir(data_root):  # files next to the splits, e.g. classes.txt
        if entry.is_file():
            os.symlink(osp.abspath(entry.path), osp.join(partial, entry.name))
    os.replace(partial, out_dir)


# --------------------------------------------------------------------------------------------
# One run: train (a process), score (a process), result.json
# --------------------------------------------------------------------------------------------


def trained_checkpoint(train_dir: str) -> str:
    """The best checkpoint a training saved, else its last one."""
    import glob

    from mmtl.utils.errors import CheckpointError

    best = sorted(glob.glob(osp.join(train_dir, 'best_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    last = osp.join(train_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            return f.read().strip()
    raise CheckpointError(f'{train_dir}: the training wrote no checkpoint')


def score_run(config: str, checkpoint: str, data_dir: str, out_file: str, options) -> None:
    """Test ``checkpoint`` on ``data_dir/test`` and write every class's probability."""
    from mmtl.apis.runner_setup import build_runner, prepare_test_config
    from mmtl.evaluation.metrics import add_prediction_writer
    from mmtl.utils.run_args import test_parser

    argv = [config, checkpoint, '--work-dir', osp.dirname(out_file)]
    argv += ['--cfg-options', *option_args(options), f'data_root={data_dir}']
    os.environ.setdefault('LOCAL_RANK', '0')
    cfg = prepare_test_config(test_parser().parse_args(argv))
    add_prediction_writer(cfg, out_file, topk=1 << 20)  # capped at the class count
    build_runner(cfg).test()


def read_probabilities(path: str, num_classes: int, root: str):
    """``(image indices, N x C probabilities)`` of a scored run's predictions JSON."""
    import numpy as np

    with open(path) as f:
        rows = json.load(f)
    indices, probabilities = [], np.zeros((len(rows), num_classes))
    for i, row in enumerate(rows):
        indices.append(int(osp.basename(row['image']).split('_', 1)[0]))
        for entry in row['topk']:
            probabilities[i, int(entry['label'])] = float(entry['score'])
    return indices, probabilities


def run_one(config: str, split, plan: dict, args, data_root: str) -> dict:
    """Train and score one run unless its ``result.json`` exists; return the result."""
    import numpy as np

    from mmtl.evaluation.statistics import classification_intervals
    from mmtl.utils.fileio import atomic_open

    run_dir = osp.join(args.work_dir, config_name(config), split.name)
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return dict(json.load(f), resumed=True)
    start = time.time()
    data_dir = osp.abspath(osp.join(args.work_dir, 'data', split.name))
    link_split(data_root, plan, split, data_dir)
    os.makedirs(run_dir, exist_ok=True)
    options = option_args(args.cfg_options)
    train_dir = osp.join(run_dir, 'train')
    train = [sys.executable, osp.join(TOOLS, 'train.py'), config, '--work-dir', train_dir]
    if osp.isdir(train_dir):  # an interrupted run: go on from its latest checkpoint
        train.append('--resume')
    train += ['--cfg-options', *options, f'data_root={data_dir}']  # the last data_root wins
    run_logged(train, f'{run_dir}/train.log', check=True)
    predictions = osp.join(run_dir, 'test', 'probabilities.json')
    os.makedirs(osp.dirname(predictions), exist_ok=True)
    score = [sys.executable, osp.abspath(__file__), config, '--score-run', config]
    score += [trained_checkpoint(train_dir), data_dir, predictions]
    if options:
        score += ['--cfg-options', *options]
    run_logged(score, f'{run_dir}/test.log', check=True)
    indices, probabilities = read_probabilities(predictions, len(plan['classes']), data_dir)
    labels = np.asarray([plan['labels'][i] for i in indices])
    figures = classification_intervals(probabilities, labels, num_resamples=200)
    result = {
        'indices': indices,
        'probabilities': probabilities.round(6).tolist(),
        'top1': figures['top1']['estimate'],
        'macro_f1': figures['macro_f1']['estimate'],
        'images': len(indices),
        'seconds': round(time.time() - start, 1),
    }
    with atomic_open(result_file, 'w') as f:
        json.dump(result, f)
    return result


def config_name(config: str) -> str:
    """A config's file name without ``.py``: its folder in the work dir."""
    return osp.splitext(osp.basename(config))[0]


# --------------------------------------------------------------------------------------------
# Summary, leaderboard, label issues
# --------------------------------------------------------------------------------------------


def out_of_fold(results: List[dict], splits, num_images: int, num_classes: int):
    """Per image, its test probabilities averaged over repeats; and the first repeat's."""
    import numpy as np

    total, seen = np.zeros((num_images, num_classes)), np.zeros(num_images)
    first = np.zeros((num_images, num_classes))
    for result, split in zip(results, splits):
        probabilities = np.asarray(result['probabilities'])
        total[result['indices']] += probabilities
        seen[result['indices']] += 1
        if split.repeat == 0:
            first[result['indices']] = probabilities
    return total / np.maximum(seen, 1)[:, None], first


def write_leaderboard(work_dir: str, rows: List[dict]) -> None:
    """``leaderboard.md`` and ``leaderboard.csv``, best mean top-1 first."""
    from mmtl.utils.fileio import atomic_open

    columns = ['rank', 'config', 'runs', 'mean_top1', 'std_top1', 'low', 'high']
    columns += ['pooled_top1', 'pooled_low', 'pooled_high', 'vs_best']
    with atomic_open(osp.join(work_dir, 'leaderboard.csv'), 'w') as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        '| rank | config | runs | top-1 mean +- std (95 % interval) | pooled out-of-fold top-1 '
        '| vs best |',
        '|---|---|---|---|---|---|',
    ]
    for row in rows:
        lines.append(
            f'| {row["rank"]} | {row["config"]} | {row["runs"]} | {row["mean_top1"]:.1f} +- '
            f'{row["std_top1"]:.1f} ({row["low"]:.1f}, {row["high"]:.1f}) | '
            f'{row["pooled_top1"]:.1f} ({row["pooled_low"]:.1f}, {row["pooled_high"]:.1f}) | '
            f'{row["vs_best"]} |'
        )
    with atomic_open(osp.join(work_dir, 'leaderboard.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_label_issues(work_dir: str, plan: dict, data_root: str, probabilities, num: int):
    """``label_issues.csv`` (every image) and ``label_issues.png`` (the first ``num``)."""
    from mmtl.evaluation.cross_validation import label_issues
    from mmtl.utils.fileio import atomic_open

    classes = plan['classes']
    issues = label_issues(probabilities, plan['labels'])
    path = osp.join(work_dir, 'label_issues.csv')
    with atomic_open(path, 'w') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['rank', 'image', 'given_class', 'suggested_class', 'p_given'])
        writer.writerows(
            [
                rank,
                plan['files'][issue.index],
                classes[issue.given],
                classes[issue.suggested],
                f'{issue.self_confidence:.4f}',
            ]
            for rank, issue in enumerate(issues, start=1)
        )
    flagged = sum(issue.flagged for issue in issues)
    print(
        f'label issues: {flagged} images likely mislabelled (confident learning); all images '
        f'ranked in {path}'
    )
    if num:
        gallery = osp.join(work_dir, 'label_issues.png')
        draw_issue_gallery(issues[:num], plan, data_root, gallery)
        print(f'the {min(num, len(issues))} most doubtful images: {gallery}')
    return issues


def draw_issue_gallery(issues, plan: dict, data_root: str, out_file: str, columns: int = 6):
    """A grid of images captioned with file name, given and suggested class."""
    import math

    import numpy as np

    from mmtl.datasets.transforms.image_io import ImageDecodeError, decode_image_file
    from mmtl.utils.prediction_rows import safe_text
    from mmtl.visualization.figure import new_figure, save_figure

    rows = max(1, math.ceil(len(issues) / columns))
    figure = new_figure((2.4 * columns, 2.7 * rows + 0.4))
    figure.suptitle('most doubtful labels (out-of-fold): red = likely mislabelled', fontsize=10)
    for position, issue in enumerate(issues):
        axes = figure.add_subplot(rows, columns, position + 1)
        try:  # the same decode as training: EXIF orientation, 16-bit, palette, alpha
            image = decode_image_file(osp.join(data_root, plan['files'][issue.index]), 256)
        except ImageDecodeError:
            image = np.full((32, 32, 3), 127, np.uint8)
        axes.imshow(image[..., ::-1])
        axes.set_axis_off()
        name = safe_text(osp.basename(plan['files'][issue.index]))[:28]
        given, suggested = (safe_text(plan['classes'][c]) for c in (issue.given, issue.suggested))
        axes.set_title(
            f'{name}\nlabel {given} ({issue.self_confidence:.2f})\nlooks {suggested} '
            f'({issue.suggested_probability:.2f})',
            fontsize=7,
            color='red' if issue.flagged else 'black',
        )
    figure.tight_layout()
    save_figure(figure, out_file)


def cross_validate(args: argparse.Namespace) -> None:
    import numpy as np

    from mmtl.analysis.logs import ranked
    from mmtl.config.load import read_config
    from mmtl.evaluation.cross_validation import fold_splits, summarize
    from mmtl.evaluation.statistics import accuracy_interval, compare_correct
    from mmtl.utils.errors import ConfigError

    roots = {read_config(c, args.cfg_options).get('data_root') for c in args.configs}
    if len(roots) != 1 or None in roots:
        raise ConfigError(f'the configs must share one data_root, got {sorted(map(str, roots))}')
    names = [config_name(c) for c in args.configs]
    if len(set(names)) != len(names):
        raise ConfigError(f'two configs have the same file name: {names}')
    data_root = roots.pop()
    plan = list_images(data_root, args.splits)
    plan.update(folds=args.folds, repeats=args.repeats, seed=args.seed)
    try:
        splits = fold_splits(plan['labels'], args.folds, args.repeats, args.seed)
    except ValueError as err:
        raise ConfigError(f'data_root={data_root}: {err}') from err
    load_or_write_plan(args.work_dir, plan)
    total = len(splits) * len(args.configs)
    print(
        f'{len(plan["files"])} images in {len(plan["classes"])} classes, {args.folds} folds x '
        f'{args.repeats} repeats x {len(args.configs)} configs = {total} runs in '
        f'{args.work_dir}',
        flush=True,
    )
    labels = np.asarray(plan['labels'])
    summaries, done = [], 0
    for config in args.configs:
        results = []
        for split in splits:
            result = run_one(config, split, plan, args, data_root)
            results.append(result)
            done += 1
            how = 'done before' if result.get('resumed') else f'{result["seconds"]:.0f} s'
            print(
                f'[{done}/{total}] {config_name(config)} {split.name}: test top-1 '
                f'{result["top1"]:.1f} % on {result["images"]} images ({how})',
                flush=True,
            )
        averaged, first = out_of_fold(results, splits, len(labels), len(plan['classes']))
        summary = summarize([r['top1'] for r in results])
        pooled = accuracy_interval(first.argmax(1) == labels)
        summaries.append((config, summary, pooled, first.argmax(1) == labels, averaged))
    summaries = ranked(summaries, lambda item: item[1]['mean'])
    best = summaries[0]
    rows = []
    for rank, (config, summary, pooled, correct, _) in enumerate(summaries, start=1):
        versus = (
            ''
            if rank == 1
            else compare_correct(correct, best[3]).verdict(
                config_name(config), config_name(best[0])
            )
        )
        print(
            f'{config_name(config)}: top-1 {summary["mean"]:.1f} +- {summary["std"]:.1f} % '
            f'over {summary["runs"]} runs (95 % interval {summary["low"]:.1f}-'
            f'{summary["high"]:.1f}); pooled out-of-fold {pooled.format()} %'
        )
        if versus:
            print(f'  {versus}')
        rows.append(
            dict(
                rank=rank,
                config=config_name(config),
                runs=summary['runs'],
                mean_top1=summary['mean'],
                std_top1=summary['std'],
                low=summary['low'],
                high=summary['high'],
                pooled_top1=pooled.estimate,
                pooled_low=pooled.low,
                pooled_high=pooled.high,
                vs_best=versus,
            )
        )
    write_leaderboard(args.work_dir, rows)
    print(f'leaderboard: {osp.join(args.work_dir, "leaderboard.md")}')
    chance = 100.0 / len(plan['classes'])
    if best[2].low <= chance:
        print(
            f'warning: the best out-of-fold top-1 is not clearly above chance ({chance:.1f} %): '
            'the label issues below rank images by a model that has learnt little'
        )
    write_label_issues(args.work_dir, plan, data_root, best[4], args.issues)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.score_run:
        score_run(*args.score_run, args.cfg_options)
    else:
        cross_validate(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
