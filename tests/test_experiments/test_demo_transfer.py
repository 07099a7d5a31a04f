"""README command 1 (tools/run_demo.sh): transfer from digits 0-4 to 5-9, gain over scratch."""

import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmtl_testing import REPO_ROOT, describe, run_command, tool_env

import mmtl  # noqa: F401
from mmtl.experiments.transfer_demo import DEFAULT_STRATEGY, fewshot_config, publish_backbone
from mmtl.registry import MODELS
from mmtl.utils.checkpoint import safe_torch_load


def fewshot_table_k1() -> dict:
    """Strategy -> mean test top-1 at k = 1, read from README's few-shot table."""
    with open(f'{REPO_ROOT}/README.md', encoding='utf-8') as f:
        text = f.read()
    section = text[text.index('### Transfer works: digits 0–4 → 5–9, offline') :]
    lines = [line for line in section.splitlines() if line.startswith('| ')]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    column = header.index('k = 1')
    table = {}
    for line in lines[1:]:
        cells = [cell.strip().strip('*') for cell in line.strip('|').split('|')]
        if len(cells) != len(header) or not cells[column][:1].isdigit():
            break
        table[cells[0]] = float(cells[column].split('±')[0])
    return table


def test_default_strategy_is_the_best_of_the_fewshot_table_at_one_shot():
    """The demo learns from 1 image per class: it uses the table's best strategy at k = 1."""
    table = fewshot_table_k1()
    assert {'scratch', 'full-ft', 'full-ft-1x'} <= set(table)
    assert DEFAULT_STRATEGY == max(table, key=table.get)


@pytest.mark.parametrize('train_images, steps', [(5, 200), (10, 200), (40, 30)])
def test_fewshot_configs_differ_only_in_the_strategy(train_images, steps):
    transfer = fewshot_config('data/k', train_images, steps, 'full-ft', 'pre.pth')
    scratch = fewshot_config('data/k', train_images, steps, 'scratch', 'pre.pth')
    assert transfer.load_from == 'pre.pth' and scratch.load_from is None
    custom = transfer.optim_wrapper.paramwise_cfg.custom_keys
    assert custom == {'backbone': dict(lr_mult=0.1)}
    assert 'custom_keys' not in scratch.optim_wrapper.get('paramwise_cfg', {})
    for cfg in (transfer, scratch):
        assert cfg.model.head.num_classes == 5  # a new head for the new digits
        assert cfg.data_root == 'data/k'
        batch = cfg.train_dataloader.batch_size
        assert batch == min(16, train_images) and cfg.train_dataloader.drop_last
        iters = cfg.train_cfg.max_epochs * (train_images // batch)
        assert steps <= iters < steps + train_images // batch  # the same number of steps
        assert cfg.param_scheduler[-1]['end'] == steps
        assert cfg.default_hooks.early_stopping is None
        assert 10 <= cfg.train_cfg.max_epochs // cfg.train_cfg.val_interval < 20  # validations


def test_published_backbone_has_no_head_and_fills_the_backbone(tmp_path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'))
    with DefaultScope.overwrite_default_scope('mmtl'):
        cfg.model.head.num_classes = 5
        source = MODELS.build(cfg.model)
        target = MODELS.build(cfg.model)
    trained = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': source.state_dict(), 'meta': {}, 'optimizer': {}}, trained)
    out = str(tmp_path / 'backbone.pth')
    assert publish_backbone(trained, out) == 312
    checkpoint = safe_torch_load(out)
    assert all(key.startswith('backbone.') for key in checkpoint['state_dict'])
    head_before = target.head.fc.weight.clone()
    load_checkpoint(target, out)
    assert torch.equal(target.backbone.conv2.conv.weight, source.backbone.conv2.conv.weight)
    assert torch.equal(target.head.fc.weight, head_before)  # the new head keeps its init


def _venv_for_demo(tmp_path) -> str:
    """A stand-in for .venv that tools/setup_env.sh finds up to date (no install in tests)."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'  # this interpreter, in its own environment
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    bindir = osp.dirname(sys.executable)
    (venv / 'bin' / 'activate').write_text(f'export PATH="{bindir}:$PATH"\n')
    files = sorted(
        osp.join('requirements', f) for f in os.listdir(osp.join(REPO_ROOT, 'requirements'))
    )
    digest = subprocess.run(
        f'cat {" ".join(files)} setup.py | sha256sum | cut -d" " -f1',
        shell=True,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (venv / '.mmtl-install-stamp').write_text(digest + '\n')
    return str(venv)


@pytest.mark.slow
def test_run_demo_tiny_prints_the_gain_and_writes_its_files(tmp_path):
    work_dir = tmp_path / 'demo'
    # PIP_NO_INDEX: should setup_env.sh find the stand-in out of date, it fails instead of
    # installing anything.
    env = tool_env(str(tmp_path), MMTL_VENV=_venv_for_demo(tmp_path), PIP_NO_INDEX='1')
    result = run_command(
        [
            'bash',
            osp.join(REPO_ROOT, 'tools', 'run_demo.sh'),
            '--tiny',
            '--work-dir',
            str(work_dir),
        ],
        REPO_ROOT,
        env,
        timeout=900,
    )
    assert result.returncode == 0, describe(result)
    out = result.stdout + result.stderr
    assert '[setup]' in out and 'is up to date' in out

    summary = json.loads((work_dir / 'transfer_summary.json').read_text())
    gain = re.search(
        r'\[demo\] transfer gain over training from scratch: ([+-]\d+\.\d\d) points', out
    )
    assert gain, describe(result)
    assert float(gain.group(1)) == pytest.approx(
        summary['transfer_test_top1'] - summary['scratch_test_top1'], abs=0.006
    )
    for run in ('pretrain', DEFAULT_STRATEGY, 'scratch'):
        metrics = json.loads((work_dir / run / 'test_metrics.json').read_text())
        assert 0 <= metrics['metrics']['accuracy/top1'] <= 100
    assert (work_dir / DEFAULT_STRATEGY / 'test_plots' / 'confusion_matrix.png').is_file()
    png = work_dir / 'prediction.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert summary['png'] == str(png) and summary['prediction'] in list('56789')

    # Every step is a mim command of a config written to configs/, and the fine-tune starts
    # from the published backbone with a new head (the 2 head tensors are missing from it).
    commands = [line for line in out.splitlines() if line.startswith('$ mim ')]
    assert len(commands) == 6
    transfer_config = Config.fromfile(summary['configs'][DEFAULT_STRATEGY])
    assert transfer_config.load_from == str(work_dir / 'pretrained_digits_0-4_backbone.pth')
    assert Config.fromfile(summary['configs']['scratch']).load_from is None
    loads = [line for line in out.splitlines() if 'checkpoint weights:' in line]
    # The fine-tune loads the 312 backbone tensors and misses the 2 of the new head.
    finetune = [line for line in loads if 'missing' in line]
    assert finetune and all('312 tensors loaded' in line for line in finetune)
    assert all('head.fc.bias, head.fc.weight' in line for line in finetune)
