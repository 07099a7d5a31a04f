"""ValLossHook: val_loss beside the val metrics, in the log and scalars.json."""

import glob
import json
import math
import os.path as osp
import uuid

import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from mmtl_testing import REPO_ROOT
from torch.utils.data import Dataset

import mmtl.engine  # noqa: F401  (registers the hooks)
from mmtl.registry import METRICS

#: The fixed probability the toy model gives the true class of image i.
TRUE_CLASS_PROBABILITY = [0.9, 0.6, 0.3, 0.8]


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        if mode == 'loss':
            return {'loss': self.linear(torch.stack(inputs)).pow(2).mean()}
        samples = []
        for index, label in zip(inputs, labels):
            p = TRUE_CLASS_PROBABILITY[int(index)]
            scores = torch.tensor([p, 1 - p]) if int(label) == 0 else torch.tensor([1 - p, p])
            samples.append(DataSample().set_gt_label(int(label)).set_pred_score(scores))
        return samples


class _Data(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([float(idx)]), labels=torch.tensor(idx % 2))


@METRICS.register_module(force=True)
class _CountMetric(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(1 for _ in data_samples)

    def compute_metrics(self, results):
        return {'count': len(results)}


def test_val_loss_is_the_mean_cross_entropy_and_is_logged(tmp_path):
    runtime = Config.fromfile(osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py'))
    assert runtime.default_hooks.val_loss == dict(type='ValLossHook')
    loader = dict(dataset=_Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=3)
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=dict(type='_CountMetric'),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        default_hooks=dict(
            checkpoint=None,
            logger=dict(type='LoggerHook', interval=1),
            val_loss=runtime.default_hooks.val_loss,
        ),
        visualizer=dict(
            type='Visualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            name=f'vis-{uuid.uuid4().hex}',
        ),
        default_scope='mmtl',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    runner.train()
    expected = -sum(math.log(p) for p in TRUE_CLASS_PROBABILITY) / 4
    scalars = glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))[0]
    val = [json.loads(line) for line in open(scalars) if '"count"' in line]
    assert len(val) == 2
    assert all(abs(record['val_loss'] - expected) < 1e-4 for record in val)
    log = open(glob.glob(str(tmp_path / '*' / '*.log'))[0]).read()
    assert f'val_loss: {expected:.4f}' in log
