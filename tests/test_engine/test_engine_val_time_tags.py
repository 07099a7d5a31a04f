"""Validation time/data_time get their own scalar tags, apart from training's."""

import glob
import json
import os.path as osp
import uuid

import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmtl_testing import REPO_ROOT
from torch.utils.data import Dataset

import mmtl.engine  # noqa: F401  (registers the log processor)
from mmtl.registry import METRICS


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return {'loss': ((out.squeeze(1) - torch.stack(labels)) ** 2).mean()}
        return [(o, t) for o, t in zip(out, labels)]


class _Data(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([idx / 8.0, 1.0]), labels=torch.tensor(idx % 2 * 1.0))


@METRICS.register_module(force=True)
class _ValTimeTagsMetric(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(float((o - t).abs()) for o, t in data_samples)

    def compute_metrics(self, results):
        return {'mae': sum(results) / len(results)}


def test_val_timings_do_not_share_training_tags(tmp_path):
    runtime = Config.fromfile(osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py'))
    loader = dict(dataset=_Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2)
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=dict(type='_ValTimeTagsMetric'),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        log_processor=runtime.log_processor,
        visualizer=dict(
            type='Visualizer',
            vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')],
            name=f'vis-{uuid.uuid4().hex}',
        ),
        default_scope='mmtl',
        log_level='WARNING',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    runner.train()
    scalars = glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))[0]
    records = [json.loads(line) for line in open(scalars)]
    val = [r for r in records if 'mae' in r]
    assert len(val) == 2 and all('val/time' in r and 'time' not in r for r in val)
    assert all('val/data_time' in r for r in val)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(osp.dirname(scalars))
    events.Reload()
    tags = events.Tags()['scalars']
    assert 'val/time' in tags and 'val/data_time' in tags
    train_iters = [r['iter'] for r in records if 'iter' in r]
    assert [e.step for e in events.Scalars('time')] == train_iters  # training alone
    assert [e.step for e in events.Scalars('val/time')] == [1, 2]

    from mmtl.analysis.logs import load_scalar_log

    assert load_scalar_log(str(tmp_path)).metric_keys == ['mae']  # timings are no metric
