"""The few-shot strategies and the advisor's pick over random source/target splits of the digits.

    python benchmarks/advisor_partitions.py [--partitions 3] [--first 0] [--shots 5] [--steps 60]
        [--pretrain-epochs 3] [--seed 0] [--work-dir work_dirs/advisor_partitions]

The project's few-shot table uses one split (digits 0-4 -> 5-9). Here each partition draws 5
random source digits (the rest are the target), pretrains a quarter-width ResNet-18 on the
source, and trains every strategy on ``--shots`` images per target class with the same recipe
as ``tools/fewshot_digits.py`` (``experiments.fewshot``). The advisor (``tools/advise.py``,
no trials) is given the recipe and the pretrained backbone. Per partition it prints each
strategy's test top-1, the advisor's pick, its gap to the best strategy and a paired test
(McNemar on the same test images) of the pick against scratch; then the means over
partitions. Figures go to ``results.json`` in the work dir.
"""

import argparse
import json
import os
import os.path as osp
import sys

import common  # noqa: F401  (puts the repository and tools/ on sys.path)
import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STRATEGIES = ('scratch', 'linear-probe', 'full-ft', 'full-ft-1x')


def write_tiny_config(folder: str) -> str:
    """The digits config with a ResNet-18 of 16 channels (1/4 width): fast on small images."""
    path = osp.join(folder, 'tiny_resnet.py')
    digits = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{digits!r}]\n'
            'model = dict(\n'
            "    backbone=dict(_delete_=True, type='ResNet', depth=18, stem_channels=16,\n"
            '                  base_channels=16, out_indices=(3,)),\n'
            '    head=dict(in_channels=128, num_classes=5))\n'
        )
    return path


def train_and_score(cfg, out_csv: str):
    """Train a few-shot config, test its best checkpoint; (top-1, per-image correctness)."""
    from experiments.fewshot import _train_and_load_best

    from mmtl.analysis.error_analysis import read_predictions
    from mmtl.evaluation.metrics import add_prediction_writer

    add_prediction_writer(cfg, out_csv)
    runner = _train_and_load_best(cfg)
    top1 = float(runner.test()['accuracy/top1'])
    rows = sorted(read_predictions(out_csv), key=lambda p: p.image)
    return top1, np.array([p.correct for p in rows])


def advisor_pick(recipe: str, kshot: str, pretrained: str, work_dir: str) -> str:
    """The strategy ``tools/advise.py`` recommends (no trials)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location('advise', osp.join(REPO_ROOT, 'tools/advise.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    options = [f'data_root={kshot}', f'load_from={pretrained}', 'log_level=WARNING']
    argv = [recipe, '--work-dir', work_dir, '--no-progress', '--cfg-options', *options]
    if tool.main(argv) != 0:
        raise RuntimeError(f'tools/advise.py failed on {recipe}')
    with open(osp.join(work_dir, 'advice.json')) as f:
        return json.load(f)['recommendation']['strategy']


def run_partition(index: int, args) -> dict:
    from experiments.fewshot import (
        finetune_config,
        make_kshot_folder,
        pretrain_source_model,
    )

    from mmtl.datasets.digits import write_digits_folder
    from mmtl.evaluation.statistics import compare_correct

    rng = np.random.default_rng(args.seed + index)
    source = sorted(int(d) for d in rng.choice(10, size=5, replace=False))
    target = [d for d in range(10) if d not in source]
    root = osp.join(args.work_dir, f'partition_{index}')
    os.makedirs(root, exist_ok=True)
    src, tgt, kshot = (osp.join(root, name) for name in ('src', 'tgt', 'kshot'))
    for folder, keep in ((src, source), (tgt, target)):
        if not osp.isdir(folder):
            write_digits_folder(folder, seed=0, keep=keep)
    config = write_tiny_config(root)
    pretrained = pretrain_source_model(config, src, osp.join(root, 'pre'), args.pretrain_epochs)
    if osp.isdir(kshot):
        import shutil

        shutil.rmtree(kshot)
    images = make_kshot_folder(tgt, kshot, args.shots, args.seed)
    table, correct = {}, {}
    for strategy in STRATEGIES:
        cfg = finetune_config(
            config,
            kshot,
            osp.join(root, 'runs', strategy),
            strategy,
            pretrained,
            images,
            args.steps,
            f'p{index}_{strategy}',
        )
        table[strategy], correct[strategy] = train_and_score(
            cfg, osp.join(root, f'{strategy}_preds.csv')
        )
    recipe = finetune_config(
        config, kshot, osp.join(root, 'r'), None, None, images, args.steps, f'p{index}_r'
    )
    recipe_path = osp.join(root, 'recipe.py')
    recipe.dump(recipe_path)
    picked = advisor_pick(recipe_path, kshot, pretrained, osp.join(root, 'advice'))
    best = max(table, key=table.get)
    versus = compare_correct(correct['scratch'], correct[picked])
    return {
        'source': source,
        'target': target,
        'test_top1': table,
        'best': best,
        'picked': picked,
        'gap': table[best] - table[picked],
        'picked_vs_scratch': versus.verdict('scratch', picked),
        'picked_worse_than_scratch': bool(
            not versus.could_be_noise and versus.difference.estimate < 0
        ),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--partitions', type=int, default=3)
    parser.add_argument('--first', type=int, default=0, help='index of the first partition')
    parser.add_argument('--shots', type=int, default=5)
    parser.add_argument('--steps', type=int, default=60)
    parser.add_argument('--pretrain-epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', default='work_dirs/advisor_partitions')
    args = parser.parse_args(argv)
    results = []
    for index in range(args.first, args.first + args.partitions):
        result = run_partition(index, args)
        results.append(result)
        figures = ', '.join(f'{s} {t:.1f}' for s, t in result['test_top1'].items())
        print(
            f'partition {index} (source {result["source"]}): {figures}; advisor picks '
            f'{result["picked"]} (gap to best {result["gap"]:.1f}); {result["picked_vs_scratch"]}',
            flush=True,
        )
    means = {s: float(np.mean([r['test_top1'][s] for r in results])) for s in STRATEGIES}
    print('mean test top-1 over partitions: ' + ', '.join(f'{s} {m:.1f}' for s, m in means.items()))
    print(
        f'advisor: mean gap to the best strategy {np.mean([r["gap"] for r in results]):.1f} '
        f'points; picks significantly worse than scratch: '
        f'{sum(r["picked_worse_than_scratch"] for r in results)} of {len(results)}'
    )
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump({'partitions': results, 'mean_test_top1': means, 'args': vars(args)}, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
