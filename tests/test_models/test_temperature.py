"""Temperature scaling stored in the checkpoint (head.temperature) and used by every path:
exact loading, inference_model, the calibration tool and ONNX export."""

import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT, import_tool

from mmtl.engine.loading import load_into
from mmtl.models.heads import TEMPERATURE_KEY, get_temperature, set_temperature
from mmtl.utils.errors import CheckpointError

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def options(root: str) -> dict:
    return {'model.head.num_classes': 3, 'data_root': root}


def digit_batch(root: str, split: str) -> tuple:
    """Every image of a digits split as a normalised 32 px batch, and its labels."""
    paths = sorted(glob.glob(osp.join(root, split, '*', '*.png')))
    images = [cv2.resize(cv2.imread(p), (32, 32), interpolation=cv2.INTER_CUBIC) for p in paths]
    pixels = torch.from_numpy(np.stack(images)[..., ::-1].transpose(0, 3, 1, 2).copy()).float()
    labels = torch.tensor([int(osp.basename(osp.dirname(p))) for p in paths])
    mean, std = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    return (pixels - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), labels


@pytest.fixture(scope='module')
def old_checkpoint(digits_root, tmp_path_factory) -> str:
    """A checkpoint written before temperatures existed (no head.temperature): random
    features (batch-norm statistics of the training images), a least-squares head that fits
    the training images, is above chance on val and too sure of itself (logits doubled)."""
    from mmtl.apis import init_model

    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG, cfg_options=options(digits_root))
    inputs, labels = digit_batch(digits_root, 'train')
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the batch
    with torch.no_grad():
        model.train()(inputs, mode='tensor')
        model.eval()
        feats = torch.cat([model.extract_feat(inputs)[-1], torch.ones(len(labels), 1)], 1)
        targets = torch.nn.functional.one_hot(labels, 3).float() * 2 - 1
        solution = torch.linalg.lstsq(feats, targets, driver='gelsd').solution.T * 2
        model.head.fc.weight.copy_(solution[:, :-1])
        model.head.fc.bias.copy_(solution[:, -1])
    path = str(tmp_path_factory.mktemp('ckpt') / 'old.pth')
    meta = {'dataset_meta': {'classes': ['0', '1', '2']}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def build(root: str):
    from mmtl.apis import init_model

    return init_model(DIGITS_CONFIG, cfg_options=options(root))


def test_an_old_checkpoint_loads_exactly_with_temperature_one(digits_root, old_checkpoint):
    model = build(digits_root)
    fit = load_into(model, old_checkpoint, 'exact')
    assert fit.exact and TEMPERATURE_KEY not in model.state_dict()
    assert get_temperature(model) == 1.0


def test_the_temperature_divides_the_logits_and_travels_in_the_state_dict(
    digits_root, old_checkpoint
):
    model = build(digits_root)
    load_into(model, old_checkpoint, 'exact')
    inputs = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        plain = model(inputs, mode='tensor')
        set_temperature(model, 2.5)
        set_temperature(model, 4.0)  # a second call changes the value, not the hook count
        scaled = model(inputs, mode='tensor')
    torch.testing.assert_close(scaled, plain / 4.0)
    assert float(model.state_dict()[TEMPERATURE_KEY]) == 4.0

    fresh = build(digits_root)  # built from the config: no buffer until the weights bring it
    fit = load_into(fresh, {'state_dict': model.state_dict()}, 'exact')
    assert fit.exact and get_temperature(fresh) == 4.0
    with torch.no_grad():
        torch.testing.assert_close(fresh(inputs, mode='tensor'), scaled)


@pytest.mark.parametrize('bad', [0.0, -1.0, float('nan')])
def test_a_temperature_that_is_not_positive_is_refused_in_one_line(digits_root, bad):
    state = dict(build(digits_root).state_dict())
    state[TEMPERATURE_KEY] = torch.tensor(bad)
    with pytest.raises(CheckpointError, match=f'ckpt.pth: {TEMPERATURE_KEY} must be one pos'):
        load_into(build(digits_root), {'state_dict': state}, 'exact', source='ckpt.pth')
    with pytest.raises(ValueError, match='finite positive'):
        set_temperature(build(digits_root), bad)


def test_fine_tuning_from_a_calibrated_checkpoint_starts_without_its_temperature(digits_root):
    state = dict(build(digits_root).state_dict())
    state[TEMPERATURE_KEY] = torch.tensor(3.0)
    model = build(digits_root)
    fit = load_into(model, {'state_dict': state}, 'transfer')
    assert fit.unexpected == [TEMPERATURE_KEY] and get_temperature(model) == 1.0


@pytest.mark.slow
def test_calibrate_tool_then_inference_and_onnx_give_the_calibrated_probabilities(
    digits_root, old_checkpoint, tmp_path, capsys
):
    from mmtl.apis import inference_model, init_model
    from mmtl.deployment import OnnxClassifier, export_classifier
    from mmtl.evaluation.calibration import apply_temperature

    out = str(tmp_path / 'calibrated.pth')
    argv = [DIGITS_CONFIG, old_checkpoint, '--out', out, '--cfg-options']
    argv += [f'{k}={v}' for k, v in options(digits_root).items()]
    assert import_tool('tools/calibrate.py').main(argv) == 0
    printed = capsys.readouterr().out
    before, after = (
        float(line.split('log loss ')[1].split(',')[0]) for line in printed.split('\n')[:2]
    )
    assert after < before  # the fit lowers the val log loss it minimises

    images = sorted(glob.glob(osp.join(digits_root, 'test', '*', '*.png')))[:12]
    old = init_model(DIGITS_CONFIG, old_checkpoint, cfg_options=options(digits_root))
    calibrated = init_model(DIGITS_CONFIG, out, cfg_options=options(digits_root))
    temperature = get_temperature(calibrated)
    assert temperature > 1.5  # over-confident: a head that fits train, logits doubled
    plain = np.array([r['pred_scores'] for r in inference_model(old, images)])
    scores = np.array([r['pred_scores'] for r in inference_model(calibrated, images)])
    np.testing.assert_allclose(scores, apply_temperature(plain, temperature), atol=1e-5)
    assert (scores.argmax(1) == plain.argmax(1)).all() and scores.max() < plain.max()

    export_classifier(calibrated, str(tmp_path / 'onnx'), with_scores=True)
    onnx_scores = np.array(
        [r['pred_scores'] for r in OnnxClassifier(str(tmp_path / 'onnx'))(images)]
    )
    np.testing.assert_allclose(onnx_scores, scores, atol=1e-4)


def test_a_calibrated_checkpoint_with_a_model_card_loads_from_the_card_alone(
    digits_root, old_checkpoint, tmp_path
):
    from mmtl.apis import init_model
    from mmtl.config.model_card import CARD_KEY, card_from_config

    model = init_model(DIGITS_CONFIG, old_checkpoint, cfg_options=options(digits_root))
    set_temperature(model, 1.7)
    card, why = card_from_config(model._config, ['0', '1', '2'])
    assert card is not None, why
    path = str(tmp_path / 'calibrated.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {CARD_KEY: card.to_dict()}}, path)
    rebuilt = init_model(path)  # no config: the card names the architecture
    assert get_temperature(rebuilt) == pytest.approx(1.7)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(inputs, mode='tensor'), model(inputs, mode='tensor'))
