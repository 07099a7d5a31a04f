"""The few-shot runs take mmtl's recipe fragments as a user's config would, and they build."""

import pytest
import torch
from experiments.fewshot import RECIPES, finetune_config

from mmtl.registry import HOOKS, MODELS, register_all_modules

EXPECTED = {
    'randaugment': lambda cfg: (
        'RandAugment' in [step['type'] for step in cfg.train_dataloader.dataset.pipeline]
    ),
    'mixup-cutmix': lambda cfg: (
        [a['type'] for a in cfg.model.train_cfg['augments']] == ['Mixup', 'CutMix']
    ),
    'label-smoothing': lambda cfg: cfg.model.head.loss['type'] == 'LabelSmoothLoss',
    'ema': lambda cfg: 'EMAHook' in [hook['type'] for hook in cfg.custom_hooks],
}


def test_every_recipe_fragment_has_a_few_shot_recipe():
    assert set(RECIPES) == set(EXPECTED)


@pytest.mark.parametrize('recipe', sorted(EXPECTED))
def test_a_recipe_sets_its_fragment_and_the_model_trains_a_step(tmp_path, recipe):
    cfg = finetune_config(
        'mobilenet-v2_digits.py',
        str(tmp_path),
        str(tmp_path),
        'full-ft-1x',
        'p.pth',
        25,
        100,
        'run',
        recipe,
    )
    assert EXPECTED[recipe](cfg)
    register_all_modules()
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.get('data_preprocessor')))
    for hook in cfg.get('custom_hooks', []):
        HOOKS.build(hook)
    images = torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8)
    from mmpretrain.structures import DataSample

    data = dict(
        inputs=list(images), data_samples=[DataSample().set_gt_label(i % 5) for i in range(4)]
    )
    losses = model.train_step(data, optim_wrapper=_sgd(model))
    assert torch.isfinite(losses['loss'])


def _sgd(model):
    from mmengine.optim import OptimWrapper

    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
