"""``--device`` means the same in every tool: auto|cpu|cuda (train/test) and cuda:N (the rest)."""

import argparse
import os.path as osp
import subprocess
import sys

import pytest
from mmtl_testing import REPO_ROOT

from mmtl.utils.errors import ConfigError
from mmtl.utils.run_args import add_device_argument, resolve_device

SINGLE_DEVICE_TOOLS = (
    'tools/infer.py',
    'tools/visualizations/vis_cam.py',
    'tools/visualizations/vis_tsne.py',
    'tools/visualizations/vis_feature_maps.py',
    'tools/analysis_tools/model_summary.py',
    'tools/analysis_tools/overfit_batch.py',
)


def parse(argv, allow_index=True):
    parser = argparse.ArgumentParser(prog='tool')
    add_device_argument(parser, allow_index=allow_index)
    return parser.parse_args(argv)


def test_default_is_auto_and_auto_is_what_this_machine_has():
    import torch

    assert parse([]).device == 'auto'
    assert resolve_device('auto') == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert parse(['--device', 'cuda:1']).device == 'cuda:1'


@pytest.mark.parametrize('value', ['gpu', 'cuda:', 'cuda:x', 'CPU'])
def test_a_device_that_is_not_one_is_refused_naming_it(value, capsys):
    with pytest.raises(SystemExit):
        parse(['--device', value])
    assert f"'{value}' is not a device" in capsys.readouterr().err


def test_train_and_test_take_no_gpu_index(capsys):
    with pytest.raises(SystemExit):
        parse(['--device', 'cuda:0'], allow_index=False)
    assert 'use one of auto, cpu, cuda' in capsys.readouterr().err


def test_a_gpu_this_process_cannot_see_is_one_clear_error():
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ConfigError, match=rf'--device cuda:{visible}: this process sees {visible}'):
        resolve_device(f'cuda:{visible}')


@pytest.mark.parametrize('tool', SINGLE_DEVICE_TOOLS)
def test_every_single_device_tool_shares_the_argument(tool):
    """Each tool refuses a wrong device at parse time, with the same words, before any work."""
    result = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, tool), '--device', 'gpu', 'a', 'b', 'c'],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "'gpu' is not a device; use one of auto, cpu, cuda, cuda:N" in result.stderr
    assert 'Traceback' not in result.stderr
