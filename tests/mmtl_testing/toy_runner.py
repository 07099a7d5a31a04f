"""A toy model, data and metric on mmengine's Runner, for checkpoint and resume tests."""

import glob
import hashlib
import os.path as osp
import uuid

import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmtl  # noqa: F401  (registers mmtl's hooks and checkpoint loaders)
from mmtl.registry import HOOKS, METRICS

ITERS_PER_EPOCH = 4


class ToyModel(BaseModel):
    """``y = w . x + b`` with a mean squared error, scaled by ``loss_weight``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.loss_weight = 1.0

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return {'loss': ((out - torch.stack(labels)) ** 2).mean() * self.loss_weight}
        return out


class ToyData(Dataset):
    def __len__(self):
        return 2 * ITERS_PER_EPOCH

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([i / 8, 1.0]), labels=torch.tensor([0.5 * i / 8]))


@METRICS.register_module(force=True)
class EpochScore(BaseMetric):
    """A validation 'score' that is set from outside: decides which epoch is best."""

    scores = []

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return {'score': EpochScore.scores.pop(0)}


@HOOKS.register_module(force=True)
class PoisonLossAt(Hook):
    """Makes the loss NaN from training iteration ``at`` (0-based) on."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            runner.model.loss_weight = float('nan')


def make_runner(work_dir, epochs=3, scores=None, extra_hooks=(), lr=0.01):
    """A Runner with the base runtime's checkpoint settings and mmtl's NaN hook."""
    checkpoint = dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2)
    val = {}
    if scores is not None:
        EpochScore.scores = list(scores)
        checkpoint.update(save_best='score', rule='greater')
        val = dict(
            val_dataloader=dict(
                dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=8
            ),
            val_cfg=dict(),
            val_evaluator=dict(type='EpochScore'),
        )
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='NonFiniteLossHook'), *extra_hooks],
        default_scope='mmtl',
        log_level='WARNING',
        # Runners made within one second would otherwise share a MessageHub (and its best score).
        experiment_name=f'toy-{uuid.uuid4().hex}',
        **val,
    )


def checkpoint_names(work_dir):
    return sorted(osp.basename(p) for p in glob.glob(osp.join(str(work_dir), '*.pth')))


def temp_files(work_dir):
    return glob.glob(osp.join(str(work_dir), '.*.tmp'))


def pointer(work_dir):
    with open(osp.join(str(work_dir), 'last_checkpoint')) as f:
        return f.read()


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
