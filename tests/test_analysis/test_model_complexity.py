"""Model summary on mmengine's get_model_complexity_info; check_env on mmengine's collect_env."""

import re

import pytest
import torch
from mmtl_testing import REPO_ROOT, import_tool, tool_status

from mmtl.analysis import model_summary as ms
from mmtl.analysis.env import collect_env

RESNET50 = f'{REPO_ROOT}/configs/_base_/models/resnet50.py'
DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'

pytestmark = pytest.mark.usefixtures('one_thread')


def test_resnet50_summary_keeps_the_published_figures(capsys):
    tool = import_tool('tools/analysis_tools/model_summary.py')
    assert tool.main([RESNET50, '--input-size', '224', '--batch-size', '2']) == 0
    out = capsys.readouterr().out
    assert 'parameters: 25,557,032 total' in out
    assert 'FLOPs at 1x3x224x224: 4.11 G (multiply-adds)' in out
    # mmengine's per-module table: layer4 holds 14.96 M of the parameters.
    assert re.search(r'\|\s+backbone\.layer4\s+\|\s+14\.965M\s+\|', out)
    assert 'layers by type: 53 Conv2d, 53 BatchNorm2d' in out
    assert 'training memory estimate at batch 2' in out
    assert 'optimizer state (SGD)' in out  # a model-only config: no optim_wrapper


def test_arch_view_annotates_every_module(capsys):
    tool = import_tool('tools/analysis_tools/model_summary.py')
    assert tool.main([DIGITS_CONFIG, '--arch', '--batch-size', '2']) == 0
    out = capsys.readouterr().out
    assert re.search(
        r'\(fc\): Linear\(\s*in_features=1280, out_features=10.*\n\s*#params: 12\.81K', out
    )


def test_complexity_agrees_with_the_hand_formula_and_leaves_the_model_alone():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8))
    model.train()
    stats = model[1].running_mean.clone()
    info = ms.model_complexity(model, (3, 10, 10), show_table=True)
    # Conv: C_out * C_in * k * k * H * W; BN (eval, affine): normalise + scale per element.
    assert info['flops'] == 8 * 3 * 9 * 10 * 10 + 2 * 8 * 10 * 10
    assert info['params'] == 3 * 8 * 9 + 8 + 16
    assert model.training and torch.equal(model[1].running_mean, stats)
    assert ms.count_flops(model, (3, 10, 10)) == info['flops']


def test_collect_env_builds_on_mmengines():
    from mmengine.utils.dl_utils import collect_env as mmengine_collect_env

    env, base = collect_env(), mmengine_collect_env()
    assert env['GCC'] == base['GCC'] and env['OpenCV'] == base['OpenCV']
    assert env['torch'] == base['PyTorch'] == torch.__version__
    assert env['mmengine'] == base['MMEngine']
    assert env['CPUs'] >= 1 and 'cuDNN' in env and 'mmpretrain' in env
    assert 'PyTorch compiling details' not in env
    assert 'PyTorch built with' in collect_env(verbose=True)['PyTorch compiling details']


def test_check_env_verbose_prints_the_torch_build_last(capsys):
    assert import_tool('tools/misc/check_env.py').main(['--verbose']) == 0
    out = capsys.readouterr().out
    table, build = out.split('\nPyTorch compiling details:\n')
    assert re.search(r'^GCC\s{2,}gcc', table, re.M) and 'PyTorch built with' in build


@pytest.mark.parametrize('size', [['1', '2', '3'], ['0']])
def test_model_summary_input_size_is_checked_like_get_flops(size, capsys):
    tool = import_tool('tools/analysis_tools/model_summary.py')
    assert tool_status(tool.main, [RESNET50, '--input-size', *size]) == 1
    assert 'give H or H W (whole numbers >= 1)' in capsys.readouterr().err
