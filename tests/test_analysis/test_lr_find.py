"""lr_find: an exponential lr sweep on the digits with the config's optimizer and strategy."""

import math
import os.path as osp

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, import_tool, tool_status

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


@pytest.mark.slow
def test_the_suggestion_lands_where_training_works_not_where_it_diverges(
    tmp_path, digits_root, capsys
):
    options = [f'data_root={digits_root}', 'model.head.num_classes=3', *NO_WORKERS]
    options += ['train_dataloader.batch_size=16', 'auto_scale_lr.enable=True']
    argv = [DIGITS, '--work-dir', str(tmp_path), '--num-iters', '60', '--end-lr', '10']
    code = tool_status(import_tool('tools/lr_find.py').main, [*argv, '--cfg-options', *options])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    lines = out.strip().splitlines()[-4:]
    assert lines[0].startswith('lr sweep: ') and 'iterations at batch 16' in lines[0]
    suggested = float(lines[1].split()[2])
    # The config's lr is set for base_batch_size 32: the suggestion is given for it.
    assert 'for base_batch_size 32; auto_scale_lr scales it to batch 16' in lines[1]
    assert osp.isfile(tmp_path / 'lr_find' / 'lr_find.png')
    assert lines[3] == f'use it: --cfg-options optim_wrapper.optimizer.lr={suggested:.3g}'
    assert 'diverged at lr' in lines[0], 'AdamW at lr 10 must diverge on the digits'
    diverged = float(lines[0].split('diverged at lr ')[1])
    at_batch = suggested * 16 / 32
    assert at_batch * 10 <= diverged, (at_batch, diverged)  # far below where it diverges
    assert 1e-5 <= at_batch <= 0.05, at_batch  # AdamW on a small CNN trains in this range


def test_the_sweep_keeps_group_ratios_and_stops_on_divergence():
    import torch
    from mmengine.model import BaseModel
    from mmengine.optim import build_optim_wrapper

    from mmtl.analysis.lr_find import lr_range_test

    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2)
            self.head = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels, mode='loss'):
            out = self.head(self.backbone(inputs))
            return {'loss': ((out - labels) ** 2).mean()}

    torch.manual_seed(0)
    model = Net()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.1),
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
        ),
    )
    x = torch.randn(16, 2)
    data = [dict(inputs=x, labels=x.sum(1, keepdim=True))]
    result = lr_range_test(model, data, wrapper, start_lr=1e-4, end_lr=1e3, num_iters=50)
    lrs = sorted({group['lr'] for group in wrapper.optimizer.param_groups})
    assert math.isclose(lrs[0] / lrs[1], 0.1)  # lr_mult kept
    assert result.diverged_at is not None and len(result.lrs) < 50
    skip = len(result.losses) // 10
    best = min(range(skip, len(result.losses)), key=result.losses.__getitem__)
    assert math.isclose(result.suggested_lr, result.lrs[best] / 10)
    assert result.losses[best] < result.losses[0]
