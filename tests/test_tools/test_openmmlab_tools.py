"""OpenMMLab's tool names and flags (get_flops, confusion_matrix, vis_scheduler, verify_dataset)."""

import glob
import json
import os.path as osp
import re

import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT, import_tool, tool_status, write_color_folder

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
RESNET50 = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'resnet50.py')

pytestmark = pytest.mark.usefixtures('one_thread')


def test_get_flops_prints_mmengines_counts(capsys):
    tool = import_tool('tools/analysis_tools/get_flops.py')
    assert tool.main([DIGITS_CONFIG, '--shape', '32']) == 0
    out = capsys.readouterr().out
    assert 'Input shape: (3, 32, 32)' in out
    assert 'Params: 2.237M (2,236,682)' in out
    assert 'Flops: 6.399M (6,398,784)' in out
    assert re.search(r'\|\s+backbone\.conv1\s+\|', out)  # mmengine's per-module table


def test_get_flops_resnet50_matches_the_published_figures(capsys):
    tool = import_tool('tools/analysis_tools/get_flops.py')
    assert tool.main([RESNET50, '--shape', '224', '--no-table']) == 0
    out = capsys.readouterr().out
    assert '(25,557,032)' in out and 'Flops: 4.112G (4,111,512,576)' in out
    assert '| backbone' not in out


def test_get_flops_bad_shape_is_one_line(capsys):
    tool = import_tool('tools/analysis_tools/get_flops.py')
    assert tool_status(tool.main, [DIGITS_CONFIG, '--shape', '1', '2', '3']) == 1
    assert (
        capsys.readouterr().err.strip()
        == 'error: --shape [1, 2, 3]: give H or H W (whole numbers >= 1)'
    )


def test_vis_scheduler_takes_dataset_size_and_gpus(tmp_path, capsys):
    tool = import_tool('tools/visualization/vis_scheduler.py')
    png = tmp_path / 'sched.png'
    # 30 epochs of ceil(100 / (32 x 2)) = 2 iterations.
    assert tool.main([DIGITS_CONFIG, '-d', '100', '-n', '2', '-s', str(png)]) == 0
    out = capsys.readouterr().out
    assert '60 iterations (2 per epoch)' in out
    assert png.stat().st_size > 1000
    argv = [DIGITS_CONFIG, '-d', '100', '-s', str(png), '--cfg-options', 'train_cfg.max_epochs=3']
    assert tool.main(argv) == 0
    assert '12 iterations (4 per epoch)' in capsys.readouterr().out


def constant_prediction_checkpoint(path, digits_root, predicted: int) -> str:
    """A 3-class digits checkpoint whose head always predicts ``predicted``."""
    from mmtl.apis import init_model
    from mmtl.config.load import load_config

    cfg = load_config(DIGITS_CONFIG, {'model.head.num_classes': 3, 'data_root': digits_root})
    model = init_model(cfg)
    with torch.no_grad():
        model.head.fc.weight.zero_()
        model.head.fc.bias.copy_(torch.nn.functional.one_hot(torch.tensor(predicted), 3) * 5.0)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def test_confusion_matrix_from_a_checkpoint(tmp_path, digits_root, capsys):
    ckpt = constant_prediction_checkpoint(tmp_path / 'c1.pth', digits_root, predicted=1)
    tool = import_tool('tools/analysis_tools/confusion_matrix.py')
    png, out_json = tmp_path / 'cm.png', tmp_path / 'cm.json'
    argv = [DIGITS_CONFIG, ckpt, '--show-path', str(png), '--out', str(out_json)]
    options = ['model.head.num_classes=3', f'data_root={digits_root}'] + NO_WORKERS
    assert tool.main(argv + ['--cfg-options'] + options) == 0
    saved = json.loads(out_json.read_text())
    per_class = [len(glob.glob(osp.join(digits_root, 'test', c, '*.png'))) for c in '012']
    # Rows are the true classes: every image lands in column 1.
    assert saved['classes'] == ['0', '1', '2']
    assert saved['counts'] == [[0, n, 0] for n in per_class]
    assert png.stat().st_size > 1000
    printed = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith('true'))
    table = printed[start : start + 4]
    assert [row.split()[1:] for row in table[1:]] == [['0', str(n), '0'] for n in per_class]


def test_confusion_matrix_from_a_results_file(tmp_path, capsys):
    results = tmp_path / 'test_metrics.json'
    counts = [[5, 1], [2, 7]]
    metrics = {'confusion_matrix/counts': counts, 'confusion_matrix/classes': ['cat', 'dog']}
    results.write_text(json.dumps({'metrics': metrics}))
    tool = import_tool('tools/analysis_tools/confusion_matrix.py')
    png = tmp_path / 'cm.png'
    assert tool.main([DIGITS_CONFIG, str(tmp_path), '--show-path', str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ['cat', '5', '1'] and lines[2].split() == ['dog', '2', '7']
    assert png.stat().st_size > 1000


def test_verify_dataset_lists_bad_files_of_the_config_splits(tmp_path, capsys):
    root = tmp_path / 'data'
    write_color_folder(str(root), {'a': (0, 0, 200), 'b': (0, 200, 0)}, 2, size=16)
    broken = root / 'val' / 'b' / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8\xff not a jpeg')
    tool = import_tool('tools/misc/verify_dataset.py')
    log = tmp_path / 'broken.log'
    base = [DIGITS_CONFIG, '--out-path', str(log), '--cfg-options', f'data_root={root}']
    assert tool.main(base) == 0  # train only: clean
    assert log.read_text() == ''
    assert tool_status(tool.main, base[:3] + ['--phase', 'train', 'val'] + base[3:]) == 1
    listed = log.read_text().splitlines()
    assert len(listed) == 1 and listed[0].startswith(f'{broken}: ')
    assert 'val (' in capsys.readouterr().out


def test_verify_dataset_missing_folder_is_one_line(tmp_path, capsys):
    tool = import_tool('tools/misc/verify_dataset.py')
    argv = [DIGITS_CONFIG, '--out-path', str(tmp_path / 'x.log')]
    assert tool_status(tool.main, argv + ['--cfg-options', f'data_root={tmp_path}/nowhere']) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: train_dataloader.dataset: image folder not found:')
