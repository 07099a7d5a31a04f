"""The few-shot digits experiment: k-shot folders, the results table, and one tiny real run."""

import glob
import json
import os
import os.path as osp
import sys

import pytest
import torch
from mmtl_testing import REPO_ROOT, describe, run_command

from mmtl.experiments import FewShotResult, format_results_table, make_kshot_folder
from mmtl.experiments.fewshot import best_strategy


def write_split(root, counts):
    for split in ('train', 'val', 'test'):
        for name, n in counts.items():
            folder = osp.join(root, split, name)
            os.makedirs(folder)
            for i in range(n):
                open(osp.join(folder, f'{i:02d}.png'), 'wb').close()
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(counts))


def test_kshot_folder_links_k_images_per_class_reproducibly(tmp_path):
    src = str(tmp_path / 'src')
    write_split(src, {'5': 12, '6': 9})
    a, b, c = (str(tmp_path / n) for n in 'abc')
    assert make_kshot_folder(src, a, shots=4, seed=0) == 8
    make_kshot_folder(src, b, shots=4, seed=0)
    make_kshot_folder(src, c, shots=4, seed=1)
    picks = {r: sorted(os.listdir(osp.join(r, 'train', '5'))) for r in (a, b, c)}
    assert len(picks[a]) == 4 and len(set(picks[a])) == 4
    assert picks[a] == picks[b] and picks[a] != picks[c]
    assert all(
        osp.islink(osp.join(a, 'train', '6', n)) for n in os.listdir(osp.join(a, 'train', '6'))
    )
    assert sorted(os.listdir(osp.join(a, 'test', '6'))) == sorted(
        os.listdir(osp.join(src, 'test', '6'))
    )


def test_kshot_folder_refuses_more_shots_than_images(tmp_path):
    src = str(tmp_path / 'src')
    write_split(src, {'5': 3})
    with pytest.raises(ValueError, match="'5' has 3 train images, fewer than 4"):
        make_kshot_folder(src, str(tmp_path / 'dst'), shots=4, seed=0)


def test_results_table_means_and_stds_per_strategy_and_k():
    results = [
        FewShotResult('scratch', 5, 0, 25, 40.0),
        FewShotResult('scratch', 5, 1, 25, 50.0),
        FewShotResult('linear-probe', 5, 0, 25, 80.0),
        FewShotResult('linear-probe', 5, 1, 25, 90.0),
        FewShotResult('linear-probe', 10, 0, 50, 95.0),
    ]
    table = format_results_table(results).splitlines()
    assert table[0] == '| strategy | k = 5 | k = 10 |'
    assert table[2] == '| scratch | 45.0 ± 7.1 | - |'
    assert table[3] == '| linear-probe | 85.0 ± 7.1 | 95.0 |'
    assert best_strategy(results, 5) == 'linear-probe'


@pytest.mark.slow
def test_tiny_fewshot_run_keeps_pretrained_backbone_under_linear_probe(tmp_path):
    work_dir = str(tmp_path / 'fs')
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'fewshot_digits.py'), '--work-dir', work_dir]
        + ['--shots', '2', '--strategies', 'linear-probe', '--pretrain-epochs', '1']
        + ['--steps', '2'],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    with open(osp.join(work_dir, 'fewshot_results.json')) as f:
        rows = json.load(f)['results']
    assert [(r['strategy'], r['shots'], r['train_images']) for r in rows] == [
        ('linear-probe', 2, 10)
    ]
    assert 0.0 <= rows[0]['top1'] <= 100.0
    from mmtl.utils import safe_torch_load

    pretrained = safe_torch_load(osp.join(work_dir, 'pretrain', 'pretrained_backbone.pth'))
    final = glob.glob(osp.join(work_dir, 'runs', 'linear-probe_2shot_seed0', 'epoch_*.pth'))
    tuned = safe_torch_load(final[0])['state_dict']
    for key, value in pretrained['state_dict'].items():
        assert torch.equal(value, tuned[key]), key
    assert 'linear-probe' in open(osp.join(work_dir, 'fewshot_results.md')).read()
