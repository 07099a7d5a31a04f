"""The advisor on noisy figures: paired tests of the gain, val = train, memorising probes."""

import os.path as osp

import cv2
import numpy as np
import pytest
from mmtl_testing import REPO_ROOT

from mmtl.advisor.data import DataProfile, val_overlap
from mmtl.advisor.probe import cross_validated_probe
from mmtl.advisor.recommend import Measurements, recommend
from mmtl.advisor.strategies import StrategyContext

STAGES = ['backbone.conv1', 'backbone.layer1']


def profile(per_class: int, classes: int = 5) -> DataProfile:
    return DataProfile([str(i) for i in range(classes)], [per_class] * classes, 50, 1.0, False)


def correctness(right: int, total: int, start: int = 0) -> np.ndarray:
    """``right`` of ``total`` images correct, from image ``start`` on (wrapping)."""
    correct = np.zeros(total, dtype=bool)
    correct[(start + np.arange(right)) % total] = True
    return correct


def measurements(pretrained, random) -> Measurements:
    """Two stages; the per-image results are the given (right, total, start) triples."""
    pre = [correctness(*p) for p in pretrained]
    ran = [correctness(*r) for r in random]
    return Measurements(
        STAGES,
        [100.0 * c.mean() for c in pre],
        [100.0 * c.mean() for c in ran],
        5,
        pretrained_correct=pre,
        random_correct=ran,
        scored_images=len(pre[0]),
    )


def test_a_gain_of_one_image_in_32_is_noise_and_no_longer_decides():
    # the case: "+3.1 points" from one val image of 32, just over the 3-point rule
    meas = measurements([(20, 32), (21, 32)], [(20, 32), (20, 32)])
    rec = recommend(profile(10), meas, epochs=30)
    assert rec.strategy == 'full-ft-1x'
    assert any('could be noise' in reason for reason in rec.reasons)
    assert any('95 % interval' in reason for reason in rec.reasons)


def test_random_features_at_100_percent_are_called_memorising():
    meas = measurements([(32, 32), (32, 32)], [(32, 32), (32, 32)])
    rec = recommend(profile(5), meas, epochs=30)
    assert any('random features score 100 %' in reason for reason in rec.reasons)
    assert rec.strategy == 'full-ft-1x'  # gain +0: noise, not "scratch"


def test_clear_gains_and_losses_still_decide():
    clear_gain = measurements([(100, 200), (190, 200)], [(100, 200), (100, 200)])
    assert recommend(profile(10), clear_gain, epochs=30).strategy == 'linear-probe'
    clear_loss = measurements([(60, 200), (60, 200)], [(180, 200), (180, 200)])
    assert recommend(profile(10), clear_loss, epochs=30).strategy == 'scratch'


def test_cross_validated_probe_scores_held_out_images_only():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)
    informative = rng.normal(0, 3, size=(3, 10))[labels] + rng.normal(0, 1, size=(24, 10))
    noise = rng.normal(0, 1, size=(24, 400))  # wide: fitted on itself it would score 100 %
    assert cross_validated_probe(informative, labels, 3).mean() > 0.9
    assert cross_validated_probe(noise, labels, 3).mean() < 0.7
    with pytest.raises(ValueError, match='single training image'):
        cross_validated_probe(noise[:4], np.array([0, 0, 0, 1]), 2)


class _Images:
    """A dataset stand-in: image paths through get_data_info."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def get_data_info(self, index):
        return {'img_path': self.paths[index]}


def test_val_overlap_finds_the_same_files_and_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    train = []
    for i in range(4):
        path = str(tmp_path / f'train_{i}.png')
        cv2.imwrite(path, rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
        train.append(path)
    copy = str(tmp_path / 'val_copy.png')  # another file, the same pixels
    cv2.imwrite(copy, cv2.imread(train[1]))
    new = str(tmp_path / 'val_new.png')
    cv2.imwrite(new, rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    assert val_overlap(_Images(train), _Images([train[0], copy, new])) == 2
    assert val_overlap(_Images(train), _Images([new])) == 0


def test_lr_scale_factor_is_the_lr_multiplier_training_applies():
    from mmengine.config import Config

    from mmtl.engine.runner import lr_scale_factor

    cfg = Config(
        dict(
            train_dataloader=dict(batch_size=16),
            optim_wrapper=dict(accumulative_counts=4),
            auto_scale_lr=dict(base_batch_size=32, enable=True),
        )
    )
    assert lr_scale_factor(cfg) == 2.0
    assert lr_scale_factor(cfg, world_size=2) == 4.0
    cfg.auto_scale_lr.enable = False
    assert lr_scale_factor(cfg) == 1.0


def test_the_printed_lr_is_the_one_after_auto_scale_lr():
    from mmtl.advisor.advisor import format_recommendation, report_dict
    from mmtl.advisor.recommend import Recommendation

    meas = Measurements(['backbone.layer1'], [90.0], [50.0], 2)
    ctx = StrategyContext(lr=0.004, adaptive=False, stages=meas.stages, cut=0, epochs=30)
    rec = Recommendation('full-ft', 'small', 'similar', 0, 30)
    data = DataProfile(['a', 'b'], [10, 10], 10, 1.0, False)
    report = report_dict(data, meas, rec, ctx, lr_factor=2.0)['recommendation']
    assert report['lr'] == pytest.approx(0.008) and report['lr_in_config'] == pytest.approx(0.004)
    line = format_recommendation(rec, report)
    assert 'lr 0.008 (range 0.0024-0.024) after auto_scale_lr (the config holds 0.004)' in line
    unscaled = report_dict(data, meas, rec, ctx)['recommendation']
    assert 'lr 0.004 (range' in format_recommendation(rec, unscaled)
    assert 'auto_scale_lr' not in format_recommendation(rec, unscaled)


@pytest.mark.parametrize(
    'epochs, patience, interval, written, says',
    [
        (100, 10, 1, 25, 'raised from 10 to wait a quarter of the run'),  # 10 of 100: too early
        (100, 10, 2, 13, 'not improved for 26 epochs, at epoch 27 at the earliest'),
        (30, 10, 1, None, 'not improved for 10 epochs, at epoch 11 at the earliest'),
        (8, 10, 1, None, 'cannot end the 8 epochs'),
    ],
)
def test_early_stopping_patience_fits_the_recommended_epochs(
    epochs, patience, interval, written, says
):
    from mmengine.config import Config

    from mmtl.advisor.advisor import early_stopping_overrides

    cfg = Config(
        dict(
            train_cfg=dict(max_epochs=30, val_interval=interval),
            default_hooks=dict(early_stopping=dict(type='EarlyStoppingHook', patience=patience)),
        )
    )
    overrides, reason = early_stopping_overrides(cfg, epochs)
    assert says in reason
    if written is None:
        assert overrides == {}
    else:
        assert overrides == {'default_hooks': {'early_stopping': {'patience': written}}}
        assert written * interval >= epochs / 4
    cfg.default_hooks.early_stopping = None
    assert early_stopping_overrides(cfg, epochs) == (
        {},
        f'early stopping is off: the run trains all {epochs} epochs',
    )


def test_the_written_patience_merges_into_the_base_hook(tmp_path):
    from mmengine.config import Config

    from mmtl.advisor.advisor import early_stopping_overrides
    from mmtl.config.access import write_child_config
    from mmtl.config.load import load_config

    config = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    overrides, _ = early_stopping_overrides(load_config(config), 100)
    out = write_child_config(str(tmp_path / 'rec.py'), config, overrides)
    hook = Config.fromfile(out).default_hooks.early_stopping
    assert hook.patience == 25 and hook.type == 'EarlyStoppingHook'
    assert hook.monitor == 'accuracy/top1'
