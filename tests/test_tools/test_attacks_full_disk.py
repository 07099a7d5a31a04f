"""tools/test.py on a full disk: one line per file not written, and the metrics are printed.

ENOSPC while writing ``--out`` (the per-image predictions) or the metrics JSON ended in a
traceback, and the metrics of the run were lost with it.
"""

import contextlib
import errno
import os.path as osp
import runpy

import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT, tool_status

from mmtl.apis import init_model

pytestmark = pytest.mark.slow

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, digits_root):
    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG, cfg_options={'model.head.num_classes': 3})
    path = str(tmp_path_factory.mktemp('full_disk') / 'digits3.pth')
    meta = {'dataset_meta': {'classes': ('0', '1', '2')}}
    torch.save({'meta': meta, 'state_dict': model.state_dict()}, path)
    return path


def fill_disk(monkeypatch, *modules):
    """Every ``atomic_open`` of these modules fails with ENOSPC."""

    @contextlib.contextmanager
    def full(path, mode='wb'):
        raise OSError(errno.ENOSPC, 'No space left on device')
        yield

    for module in modules:
        monkeypatch.setattr(module, 'atomic_open', full)


def run_test_tool(checkpoint, digits_root, tmp_path, *extra):
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'test.py'))
    argv = [DIGITS_CONFIG, checkpoint, '--work-dir', str(tmp_path / 'wd'), *extra]
    argv += ['--cfg-options', f'data_root={digits_root}', 'model.head.num_classes=3', *NO_WORKERS]
    return tool_status(tool['main'], argv)


def test_full_disk_on_out_and_metrics_is_named_and_the_metrics_printed(
    checkpoint, digits_root, tmp_path, monkeypatch, capsys
):
    from mmtl.apis import runner_setup
    from mmtl.evaluation.metrics import predictions

    fill_disk(monkeypatch, runner_setup, predictions)
    out, metrics = str(tmp_path / 'preds.csv'), str(tmp_path / 'metrics.json')
    code = run_test_tool(checkpoint, digits_root, tmp_path, '--out', out, '--out-metrics', metrics)
    captured = capsys.readouterr()
    assert code == 1
    assert f'error: cannot write {out}: No space left on device' in captured.err
    assert f'error: cannot write {metrics}: No space left on device' in captured.err
    assert 'Traceback' not in captured.err
    printed = dict(line.split(': ', 1) for line in captured.out.splitlines() if ': ' in line)
    assert 0.0 <= float(printed['accuracy/top1']) <= 100.0
    assert not osp.exists(out) and not osp.exists(metrics)


def test_full_disk_on_out_alone_still_saves_the_metrics(
    checkpoint, digits_root, tmp_path, monkeypatch, capsys
):
    from mmtl.evaluation.metrics import predictions

    fill_disk(monkeypatch, predictions)
    out, metrics = str(tmp_path / 'preds.csv'), str(tmp_path / 'metrics.json')
    code = run_test_tool(checkpoint, digits_root, tmp_path, '--out', out, '--out-metrics', metrics)
    err = capsys.readouterr().err
    assert code == 1
    assert f'cannot write {out}: No space left on device; the metrics were written to' in err
    assert 'Traceback' not in err
    assert osp.isfile(metrics) and not osp.exists(out)
