"""Attacks on head.temperature read from a checkpoint from someone else."""

import os.path as osp

import pytest
import torch
from mmtl_testing import REPO_ROOT

from mmtl.engine.loading import load_into
from mmtl.models.heads import TEMPERATURE_KEY, set_temperature
from mmtl.utils.errors import CheckpointError

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


@pytest.fixture(scope='module')
def model_and_state():
    from mmtl.apis import init_model

    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG, cfg_options={'model.head.num_classes': 3})
    return model, dict(model.state_dict())


def fresh_model():
    from mmtl.apis import init_model

    return init_model(DIGITS_CONFIG, cfg_options={'model.head.num_classes': 3})


@pytest.mark.parametrize(
    'bad',
    [
        torch.tensor(1e-40),  # every score 0 or 1: '100 % sure' of every image
        torch.tensor(1e38),  # every score 1/C whatever the image
        torch.tensor(True),  # a flag, not a temperature
    ],
    ids=['tiny', 'huge', 'bool'],
)
def test_an_absurd_stored_temperature_is_refused_in_one_line(model_and_state, bad):
    _, state = model_and_state
    state = dict(state, **{TEMPERATURE_KEY: bad})
    with pytest.raises(CheckpointError, match=f'ckpt.pth: {TEMPERATURE_KEY}'):
        load_into(fresh_model(), {'state_dict': state}, 'exact', source='ckpt.pth')


def test_a_tiny_temperature_would_make_the_model_sure_of_everything(model_and_state):
    # Why the bound matters: what the model would say with T = 1e-40.
    model = fresh_model()
    model.load_state_dict(model_and_state[1])
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
    scores = torch.softmax(logits / torch.tensor(1e-40), 1)
    assert set(scores.flatten().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match='temperature'):
        set_temperature(model, 1e-40)
