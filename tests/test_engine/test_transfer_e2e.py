"""Transfer strategies through tools/train.py: gradual unfreezing and early stopping."""

import glob
import os.path as osp
import sys

import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command

pytestmark = pytest.mark.slow

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def load_state(path: str) -> dict:
    from mmtl.utils import safe_torch_load

    return safe_torch_load(path)['state_dict']


def train(tmp_path, config: str, data_root: str, epochs: int, *options: str):
    work_dir = str(tmp_path / 'wd')
    result = run_command(
        [sys.executable, TRAIN, config, '--work-dir', work_dir, '--cfg-options']
        + [f'data_root={data_root}', f'train_cfg.max_epochs={epochs}']
        + ['train_dataloader.batch_size=16', *NO_WORKERS, *options],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    return work_dir, result.stdout + result.stderr


def test_gradual_unfreezing_trains_only_what_is_unfrozen(tmp_path, digits_root):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmtl.registry import MODELS

    config = tmp_path / 'unfreeze.py'
    config.write_text(
        f'_base_ = [{DIGITS!r}]\n'
        "model = dict(type='TransferClassifier', frozen_modules=['backbone'],\n"
        '             head=dict(num_classes=3))\n'
        "custom_hooks = [dict(type='GradualUnfreezeHook', schedule=[\n"
        "    dict(epoch=2, modules=['backbone.layer7', 'backbone.conv2'])])]\n"
    )
    # The 'pretrained' checkpoint: the model's own initial weights, saved to disk.
    init_default_scope('mmtl')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    model.init_weights()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = str(tmp_path / 'init.pth')
    torch.save({'state_dict': init, 'meta': {}}, ckpt)

    work_dir, log = train(tmp_path, str(config), digits_root, 2, f'load_from={ckpt}')
    assert "GradualUnfreezeHook: epoch 2: unfroze ['backbone.layer7', 'backbone.conv2']" in log

    epoch1 = load_state(osp.join(work_dir, 'epoch_1.pth'))
    epoch2 = load_state(osp.join(work_dir, 'epoch_2.pth'))
    backbone = [k for k in init if k.startswith('backbone.')]
    assert backbone and all(torch.equal(init[k], epoch1[k]) for k in backbone)
    late = ('backbone.layer7.', 'backbone.conv2.')
    still_frozen = [k for k in backbone if not k.startswith(late)]
    assert all(torch.equal(init[k], epoch2[k]) for k in still_frozen)  # incl. BN running stats
    moved = [k for k in backbone if k.startswith(late) and not torch.equal(init[k], epoch2[k])]
    assert any(k.endswith('running_mean') for k in moved)
    assert any(k.endswith('conv.weight') for k in moved)
    assert not torch.equal(init['head.fc.weight'], epoch1['head.fc.weight'])


def test_early_stopping_ends_the_run_when_val_top1_stalls(tmp_path, digits_root):
    # Nothing can learn (lr 0 throughout, frozen backbone): top-1 never changes, and a tie is
    # no improvement, so the run stops after 1 + patience epochs.
    config = tmp_path / 'stall.py'
    config.write_text(
        f'_base_ = [{DIGITS!r}]\n'
        "model = dict(type='TransferClassifier', frozen_modules=['backbone'],\n"
        '             head=dict(num_classes=3))\n'
        'optim_wrapper = dict(optimizer=dict(lr=0.0))\n'
        'param_scheduler = []\n'
        'default_hooks = dict(early_stopping=dict(patience=2))\n'
    )
    work_dir, log = train(tmp_path, str(config), digits_root, 8)
    epochs = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')))
    assert [osp.basename(p) for p in epochs] == ['epoch_2.pth', 'epoch_3.pth']  # keeps 2 newest
    assert 'did not improve in the last 2 records' in log
    assert glob.glob(osp.join(work_dir, 'best_accuracy_top1_epoch_1.pth'))
