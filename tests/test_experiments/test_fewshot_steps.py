"""Few-shot runs make the same number of optimisation steps at every k."""

import pytest
from experiments.fewshot import finetune_config

import mmtl  # noqa: F401
from mmtl.registry import DATA_SAMPLERS


def steps_of(cfg, train_images):
    """Optimisation steps the run's config makes: epochs x batches of its batch sampler."""
    loader = cfg.train_dataloader
    batches = DATA_SAMPLERS.build(
        dict(loader.batch_sampler, sampler=list(range(train_images)), batch_size=loader.batch_size)
    )
    return cfg.train_cfg.max_epochs * len(batches), len(batches)


@pytest.mark.parametrize('train_images', [5, 10, 25, 50, 100])
@pytest.mark.parametrize('strategy', ['scratch', 'full-ft-1x'])
def test_every_k_gets_the_steps_asked_for(tmp_path, train_images, strategy):
    cfg = finetune_config(
        'mobilenet-v2_digits.py',
        str(tmp_path / 'data'),
        str(tmp_path / 'run'),
        strategy,
        'pre.pth',
        train_images,
        200,
        'run',
    )
    steps, per_epoch = steps_of(cfg, train_images)
    # 25 images in batches of 16 are one step an epoch (the last 9 dropped), not two: counted
    # as two, the k = 5 runs made 100 steps and stopped halfway down the cosine.
    assert 200 <= steps < 200 + per_epoch, (train_images, steps)
    assert cfg.param_scheduler[-1]['end'] == 200


def test_strong_augmentation_applies_to_every_strategy_alike(tmp_path):
    from experiments.fewshot import AUGMENTATIONS

    from mmtl.registry import TRANSFORMS

    def pipeline(strategy, augment):
        cfg = finetune_config(
            'mobilenet-v2_digits.py', 'd', 'w', strategy, 'pre.pth', 25, 200, 'r', augment
        )
        return cfg.train_dataloader.dataset.pipeline

    default = pipeline('scratch', 'default')
    assert [t['type'] for t in default] == ['LoadAndRandomResizedCrop', 'PackInputs']
    strong = [pipeline(s, 'strong') for s in ('scratch', 'full-ft-1x')]
    assert strong[0] == strong[1] == AUGMENTATIONS['strong'] != default
    rotate = TRANSFORMS.build(dict(strong[0][1], prob=1.0))
    assert 0 < rotate.random_magnitude() <= 15.0
    with pytest.raises(KeyError, match="augment='heavy'"):
        pipeline('scratch', 'heavy')
