"""The random-search leaderboard lists the lr the trial used, not the sampled value."""

import csv
import json
import os
import os.path as osp
import uuid

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmtl.engine.hooks.effective_lr_hook import LR_GROUPS_FILE, peak_lr_groups
from mmtl.search.random_search import Trial, used_lr, write_leaderboard


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(2, 2))
        self.head = nn.Linear(2, 2)


def _trial_dir(root, head_lr, backbone_lr, peak):
    """A trial's work dir as a run leaves it: the hook's lr groups and the scalar log."""
    net = _Net()
    optimizer = torch.optim.SGD(
        [
            {'params': net.head.parameters(), 'lr': head_lr},
            {'params': net.backbone.parameters(), 'lr': backbone_lr},
        ]
    )
    run = osp.join(root, '20260101_120000')
    os.makedirs(osp.join(run, 'vis_data'))
    with open(osp.join(run, LR_GROUPS_FILE), 'w') as f:
        json.dump(peak_lr_groups(net, optimizer), f)
    with open(osp.join(run, 'vis_data', 'scalars.json'), 'w') as f:
        for it, lr in enumerate([peak / 10, peak, peak / 2], 1):
            f.write(json.dumps({'lr': lr, 'loss': 1.0, 'iter': it, 'epoch': 1}) + '\n')
        f.write(json.dumps({'accuracy/top1': 50.0, 'step': 1}) + '\n')
    return root


def test_leaderboard_lists_scaled_per_group_lr(tmp_path):
    sampled = 1.3e-4
    # auto_scale_lr made the head train at 4.1e-5 at its peak, the backbone at a tenth
    work_dir = _trial_dir(str(tmp_path / 'trial_000'), 4.1e-6, 4.1e-7, 4.1e-5)
    trial = Trial(0, {'optim_wrapper.optimizer.lr': sampled}, work_dir, 50.0, 'done')
    table = write_leaderboard([trial], str(tmp_path), 'accuracy/top1')
    with open(tmp_path / 'leaderboard.csv') as f:
        row = next(csv.DictReader(f))
    assert row['lr_used'] == 'head 4.1e-05; backbone 4.1e-06'
    with open(tmp_path / 'leaderboard.json') as f:
        assert json.load(f)['trials'][0]['lr_used'] == row['lr_used']
    assert 'head 4.1e-05' in table


def test_trial_without_a_run_has_no_lr(tmp_path):
    trial = Trial(1, {'optim_wrapper.optimizer.lr': 0.1}, str(tmp_path / 'missing'))
    write_leaderboard([trial], str(tmp_path), 'accuracy/top1')
    with open(tmp_path / 'leaderboard.csv') as f:
        assert next(csv.DictReader(f))['lr_used'] == ''


class _ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.head(self.backbone(torch.stack(inputs))).squeeze(1)
        if mode == 'loss':
            return {'loss': ((out - torch.stack(labels)) ** 2).mean()}
        return out


class _ToyData(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([idx / 8.0, 1.0]), labels=torch.tensor(idx % 2 * 1.0))


def test_used_lr_of_a_real_run_with_scaling_and_lr_mult(tmp_path):
    import mmtl.engine  # noqa: F401  (registers EffectiveLrHook)

    runner = Runner(
        model=_ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.04),
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
        ),
        # 2 images a batch against a base of 8: the lr is scaled by 1/4 -> head 0.01
        auto_scale_lr=dict(enable=True, base_batch_size=8),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=2)],
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='EffectiveLrHook')],
        default_scope='mmtl',
        log_level='INFO',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    runner.train()
    assert used_lr(str(tmp_path)) == 'backbone 0.001; head 0.01'


@pytest.mark.parametrize(
    'text',
    [
        '{"lr": ',
        '{"lr": 0.1, "modules": ["head"]}',
        '[{"lr": "0.1", "modules": ["head"]}, {"lr": 0.01, "modules": ["backbone"]}]',
        '[{"lr": 0.1}, {"lr": 0.01}]',
        '[{"lr": 0.1, "modules": "head"}, {"lr": 0.01, "modules": [7]}]',
    ],
)
def test_a_damaged_lr_groups_file_leaves_the_logged_peak(tmp_path, text):
    """The file is data from a run folder: damaged, it costs the per-group detail only, not
    the leaderboard of the whole search."""
    work_dir = _trial_dir(str(tmp_path / 'trial_000'), 0.01, 0.001, 0.02)
    with open(osp.join(work_dir, '20260101_120000', LR_GROUPS_FILE), 'w') as f:
        f.write(text)
    assert used_lr(work_dir) == '0.02'


def test_module_names_in_lr_groups_cannot_reach_the_terminal(tmp_path):
    work_dir = _trial_dir(str(tmp_path / 'trial_000'), 0.01, 0.001, 0.02)
    groups = [{'lr': 0.01, 'modules': ['\x1b[2Jhead']}, {'lr': 0.001, 'modules': ['=cmd']}]
    with open(osp.join(work_dir, '20260101_120000', LR_GROUPS_FILE), 'w') as f:
        json.dump(groups, f)
    assert used_lr(work_dir) == "\\x1b[2Jhead 0.02; '=cmd 0.002"


def test_a_work_dir_with_glob_characters_keeps_its_groups(tmp_path):
    work_dir = _trial_dir(str(tmp_path / 'search[lr]' / 'trial_000'), 0.01, 0.001, 0.02)
    groups = [{'lr': 0.01, 'modules': ['head']}, {'lr': 0.001, 'modules': ['backbone']}]
    with open(osp.join(work_dir, '20260101_120000', LR_GROUPS_FILE), 'w') as f:
        json.dump(groups, f)
    assert used_lr(work_dir) == 'head 0.02; backbone 0.002'
