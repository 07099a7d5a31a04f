"""tools/test.py (metrics JSON, --plots), plot_test_metrics.py and infer.py against the Python API.

The checkpoint is made here, without a training run: MobileNet-v2 with random weights, its
BatchNorm statistics measured on 48 training digits, and a nearest-class-mean head on the
resulting features. Its predictions are far from perfect but spread over all classes, which
is what a comparison between two ways of computing them needs.
"""

import csv
import glob
import json
import os.path as osp
import runpy
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command
from sklearn.metrics import roc_auc_score

from mmtl.apis import inference_model, init_model
from mmtl.visualization.evaluation_plots import PLOT_FILES
from mmtl.visualization.figure import DPI
from mmtl.visualization.metric_plots import confusion_matrix_figsize

pytestmark = pytest.mark.slow

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
CLASSES = ('0', '1', '2')
PER_CLASS_CALIBRATION = 16


def options(digits_root):
    return {'model.head.num_classes': 3, 'data_root': digits_root}


def calibrate_batchnorm(model, images):
    """Set every BatchNorm's running statistics to those of ``images`` (no gradients)."""
    inference_model(model, images[0])  # builds the inferencer, which puts the model in eval
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a plain average over what it sees
    model.train()
    inference_model(model, images, batch_size=len(images))
    model.eval()


def nearest_class_mean_head(model, images_per_class):
    """Make the linear head score ``-|f - mean_c|^2 / 2`` (up to a shared term), scaled."""
    features = []
    hook = model.head.fc.register_forward_hook(lambda m, args, out: features.append(args[0]))
    for images in images_per_class:
        inference_model(model, images, batch_size=len(images))
    hook.remove()
    means = torch.stack([f.mean(dim=0) for f in features])
    scale = 3.0 / (means - means.mean(dim=0)).norm(dim=1).mean()
    with torch.no_grad():
        model.head.fc.weight.copy_(scale * means)
        model.head.fc.bias.copy_(-0.5 * scale * (means * means).sum(dim=1))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, digits_root):
    """A digits checkpoint with class names in its meta, as training would write it."""
    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG, cfg_options=options(digits_root))
    per_class = [
        sorted(glob.glob(osp.join(digits_root, 'train', name, '*.png')))[:PER_CLASS_CALIBRATION]
        for name in CLASSES
    ]
    calibrate_batchnorm(model, sum(per_class, []))
    nearest_class_mean_head(model, per_class)
    path = str(tmp_path_factory.mktemp('ncm') / 'ncm_digits.pth')
    meta = {'dataset_meta': {'classes': CLASSES}}
    torch.save({'meta': meta, 'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='module')
def tested(checkpoint, digits_root):
    """``tools/test.py CONFIG CKPT --plots`` on the digits test split: (record, stdout)."""
    work_dir = osp.join(osp.dirname(checkpoint), 'wd')
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), DIGITS_CONFIG, checkpoint]
        + ['--work-dir', work_dir, '--plots', '--cfg-options', f'data_root={digits_root}']
        + ['model.head.num_classes=3', *NO_WORKERS],
        cwd=osp.dirname(checkpoint),
    )
    assert result.returncode == 0, describe(result)
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        return json.load(f), result.stdout


@pytest.fixture(scope='module')
def api_results(checkpoint, digits_root):
    """``inference_model`` on every test image, with the true label from its folder."""
    model = init_model(DIGITS_CONFIG, checkpoint, cfg_options=options(digits_root))
    results = inference_model(model, osp.join(digits_root, 'test'))
    labels = np.array([CLASSES.index(osp.basename(osp.dirname(r['img_path']))) for r in results])
    return results, labels


def test_inference_api_agrees_with_test_tool(tested, api_results):
    record, _ = tested
    metrics = record['metrics']
    results, labels = api_results
    preds = np.array([r['pred_label'] for r in results])
    scores = np.stack([r['pred_scores'] for r in results])
    assert len(set(preds.tolist())) == 3, 'the checkpoint should predict every class'

    # Same top-1 accuracy, and the same confusion matrix cell by cell.
    accuracy = 100.0 * np.mean(preds == labels)
    assert metrics['accuracy/top1'] == pytest.approx(accuracy, abs=1e-4)
    assert 40.0 < accuracy < 100.0
    counts = np.zeros((3, 3), dtype=int)
    np.add.at(counts, (labels, preds), 1)
    assert metrics['confusion_matrix/counts'] == counts.tolist()
    assert metrics['confusion_matrix/classes'] == list(CLASSES)
    # Same scores: each class's one-vs-rest AUC is a function of every image's score.
    expected_auc = [roc_auc_score(labels == c, scores[:, c]) for c in range(3)]
    assert metrics['roc/auc_classwise'] == pytest.approx(expected_auc, abs=1e-6)
    assert metrics['roc/auc'] == pytest.approx(np.mean(expected_auc), abs=1e-6)


def test_confusion_matrix_and_support_count_the_test_images(tested, digits_root):
    metrics = tested[0]['metrics']
    per_folder = [len(glob.glob(osp.join(digits_root, 'test', c, '*.png'))) for c in CLASSES]
    counts = np.array(metrics['confusion_matrix/counts'])
    assert counts.sum() == sum(per_folder)
    assert counts.sum(axis=1).tolist() == per_folder
    assert metrics['report/support'] == per_folder
    assert metrics['report/classes'] == list(CLASSES)
    recall = 100.0 * np.diag(counts) / counts.sum(axis=1)
    assert metrics['report/recall'] == pytest.approx(recall.tolist(), abs=1e-4)
    assert metrics['report/micro_f1'] == pytest.approx(metrics['accuracy/top1'], abs=1e-4)
    # Three classes: no top-5 and no binary threshold.
    assert 'accuracy/top5' not in metrics
    assert not any(key.startswith('threshold/') for key in metrics)


def printed_plots(stdout):
    """The paths in the tools' ``plot written to PATH`` lines."""
    prefix = 'plot written to '
    return [line[len(prefix) :] for line in stdout.splitlines() if line.startswith(prefix)]


def test_test_tool_plots_are_printed_and_decode(tested):
    printed = printed_plots(tested[1])
    assert [osp.basename(path) for path in printed] == list(PLOT_FILES.values())
    width, height = confusion_matrix_figsize(3)
    cm = cv2.imread(printed[0])
    assert cm.shape == (round(height * DPI), round(width * DPI), 3)
    for path in printed:
        assert cv2.imread(path) is not None, path


def test_plot_tool_redraws_the_same_plots(tested, tmp_path, capsys):
    first_plots = printed_plots(tested[1])
    metrics_json = osp.join(osp.dirname(first_plots[0]), '..', 'test_metrics.json')
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'plot_test_metrics.py'))
    assert tool['main']([metrics_json, '--out-dir', str(tmp_path)]) == 0
    printed = printed_plots(capsys.readouterr().out)
    assert printed == [str(tmp_path / name) for name in PLOT_FILES.values()]
    for new, old in zip(printed, first_plots):
        assert np.array_equal(cv2.imread(new), cv2.imread(old)), new

    assert tool['main']([str(tmp_path / 'missing')]) == 1
    assert 'test metrics file not found' in capsys.readouterr().err


def test_infer_tool_csv_matches_api(checkpoint, digits_root, tmp_path, capsys):
    out = str(tmp_path / 'preds.csv')
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'infer.py'))
    # infer.py takes a config as it is: a 3-class one, as a user's own config would be.
    config = tmp_path / 'digits_3.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\nmodel = dict(head=dict(num_classes=3))\n')
    pattern = osp.join(digits_root, 'test', '1', '*.png')
    # The API on the same images in the same batches: other batch sizes run other kernels,
    # whose float sums differ by up to ~1e-5.
    results = inference_model(init_model(str(config), checkpoint), pattern, batch_size=32)
    argv = [str(config), checkpoint, pattern, '--out', out, '--topk', '2', '--no-progress']
    argv += ['--batch-size', '32']
    assert tool['main'](argv) == 0
    assert f'predictions for {len(results)} images written to {out}' in capsys.readouterr().out
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert [row['image'] for row in rows] == [r['img_path'] for r in results]
    for row, result in zip(rows, results):
        assert row['pred_class'] == CLASSES[result['pred_label']] == row['top1_class']
        assert float(row['top1_score']) >= float(row['top2_score'])
        # The CSV keeps 6 decimals.
        assert float(row['pred_score']) == pytest.approx(result['pred_score'], abs=1e-6)


def test_infer_tool_names_an_undecodable_image(checkpoint, tmp_path, capsys):
    photos = tmp_path / 'photos'
    photos.mkdir()
    (photos / 'broken.png').write_bytes(b'not a png at all')
    config = tmp_path / 'digits_3.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\nmodel = dict(head=dict(num_classes=3))\n')
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'infer.py'))
    assert tool['main']([str(config), checkpoint, str(photos), '--no-progress']) == 1
    assert str(photos / 'broken.png') in capsys.readouterr().err


def test_infer_tool_names_skipped_files_and_classifies_the_rest(
    checkpoint, digits_root, tmp_path, capsys
):
    photos = tmp_path / 'photos'
    photos.mkdir()
    good = sorted(glob.glob(osp.join(digits_root, 'test', '1', '*.png')))[:2]
    for path in good:
        shutil.copy(path, photos / osp.basename(path))
    (photos / 'empty.png').write_bytes(b'')
    config = tmp_path / 'digits_3.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\nmodel = dict(head=dict(num_classes=3))\n')
    out = str(tmp_path / 'preds.csv')
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'infer.py'))
    argv = [str(config), checkpoint, str(photos), '--out', out, '--no-progress']
    assert tool['main'](argv) == 0
    captured = capsys.readouterr()
    assert f'skipped\t{photos / "empty.png"}\t' in captured.err
    assert '1 file skipped' in captured.err
    with open(out) as f:
        assert sorted(row['image'] for row in csv.DictReader(f)) == sorted(
            str(photos / osp.basename(path)) for path in good
        )


def test_test_tool_prints_and_saves_intervals(tested):
    from mmtl.evaluation.statistics import wilson_interval

    record, stdout = tested
    metrics = record['metrics']
    counts = np.array(metrics['confusion_matrix/counts'])
    expected = wilson_interval(int(np.trace(counts)), int(counts.sum()))
    assert metrics['ci/top1'] == pytest.approx(list(expected))
    recall_bounds = [wilson_interval(int(counts[c, c]), int(counts[c].sum())) for c in range(3)]
    assert np.allclose(metrics['ci/recall'], recall_bounds)
    for (low, high), f1 in zip(metrics['ci/f1'], metrics['report/f1']):
        assert low <= f1 <= high
    assert f'95 % intervals over {counts.sum()} test images:' in stdout
    assert f'top-1    {metrics["accuracy/top1"]:.1f} [{expected[0]:.1f}, {expected[1]:.1f}] %' in (
        stdout
    )


def test_scores_of_a_test_on_a_bf16_cpu_are_float32_as_infer_gives_them(
    checkpoint, digits_root, tmp_path, monkeypatch, capsys
):
    import mmtl.apis.runner_setup as runner_module
    import mmtl.utils.precision as precision_module

    # A CPU with native bfloat16, where mmtl trains in bf16 autocast by default.
    monkeypatch.setattr(precision_module, 'cpu_bf16_features', lambda: frozenset({'amx_bf16'}))
    monkeypatch.setattr(runner_module, 'uses_cuda', lambda: False)
    config = tmp_path / 'digits_3.py'
    config.write_text(  # the test loop's precision left to mmtl, as in the base schedules
        f'_base_ = [{DIGITS_CONFIG!r}]\nmodel = dict(head=dict(num_classes=3))\n'
        'test_cfg = dict(_delete_=True)\n'
    )
    out = tmp_path / 'preds.csv'
    argv = [str(config), checkpoint, '--work-dir', str(tmp_path / 'w'), '--out', str(out)]
    argv += ['--cfg-options', f'data_root={digits_root}', *NO_WORKERS]
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'test.py'))
    assert tool['main'](argv) == 0, capsys.readouterr().err
    with open(out) as f:
        rows = {row['image']: float(row['pred_score']) for row in csv.DictReader(f)}
    model = init_model(str(config), checkpoint)
    results = inference_model(model, sorted(rows), batch_size=len(rows))  # one batch each
    for result in results:
        assert rows[result['img_path']] == pytest.approx(result['pred_score'], abs=1.5e-6)
