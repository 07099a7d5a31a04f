"""Temperature scaling stored with a classifier's weights, for every head.

A calibrated model divides its logits by a temperature T fitted on val images (Guo et al.,
2017): the predicted class never changes, only how sure the model says it is. T is the
``head.temperature`` buffer, so it travels in the checkpoint's ``state_dict``, and a forward
hook on the head divides by it, so ``inference_model``, ``mim test`` and an exported ONNX or
TorchScript graph all apply it without code of their own. A model without the buffer (every
checkpoint that was never calibrated) has T = 1.
"""

from typing import Mapping

import torch
from torch import nn

from mmtl.utils.errors import CheckpointError

#: The buffer's name in a classifier's ``state_dict``.
TEMPERATURE_KEY = 'head.temperature'
#: The temperatures a model may carry: far wider than any fit gives, yet a T outside would
#: make every score 0 or 1 (tiny T) or 1/C (huge T) whatever the image.
TEMPERATURE_BOUNDS = (1e-3, 1e3)


def _divide_by_temperature(head: nn.Module, args, logits: torch.Tensor) -> torch.Tensor:
    return logits / head.temperature


def set_temperature(model: nn.Module, temperature: float) -> None:
    """Make ``model.head`` divide its logits by ``temperature`` from now on.

    Args:
        model (nn.Module): A classifier with a ``head`` (mmpretrain's ``ImageClassifier``).
        temperature (float): T in :data:`TEMPERATURE_BOUNDS`; 1 leaves the scores as they are.

    Raises:
        ValueError: T is not a finite positive number within the bounds.
    """
    temperature = float(temperature)
    low, high = TEMPERATURE_BOUNDS
    if not low <= temperature <= high:
        raise ValueError(
            f'temperature={temperature}: must be a finite positive number in [{low:g}, {high:g}]'
        )
    head = model.head
    if 'temperature' in head._buffers:
        head.temperature.fill_(temperature)
        return
    head.register_buffer('temperature', torch.tensor(temperature))
    head.register_forward_hook(_divide_by_temperature)


def get_temperature(model: nn.Module) -> float:
    """The temperature ``model`` divides its logits by (1 when it was never calibrated)."""
    return float(getattr(model.head, 'temperature', 1.0))


def prepare_temperature(model: nn.Module, state: Mapping, source: str) -> None:
    """Give ``model`` the temperature buffer when the weights to load carry one.

    Called before an exact load, so that a calibrated checkpoint fits the model built from
    its config (which has no buffer) and an uncalibrated one still loads with T = 1.

    Args:
        model (nn.Module): The model the weights go into.
        state (Mapping): The checkpoint's ``state_dict`` (keys revised).
        source (str): The checkpoint's name, for the message.

    Raises:
        CheckpointError: The stored temperature is not one floating-point number in
            :data:`TEMPERATURE_BOUNDS`.
    """
    if TEMPERATURE_KEY not in state or not isinstance(getattr(model, 'head', None), nn.Module):
        return  # nothing to attach (without a head, the exact load names the key unexpected)
    value = state[TEMPERATURE_KEY]
    low, high = TEMPERATURE_BOUNDS
    if not (
        torch.is_tensor(value)
        and value.is_floating_point()
        and value.numel() == 1
        and low <= float(value) <= high
    ):
        raise CheckpointError(
            f'checkpoint {source}: {TEMPERATURE_KEY} must be one positive number in '
            f'[{low:g}, {high:g}], got '
            f'{ascii(value)[:80] if not torch.is_tensor(value) else value.flatten()[:3].tolist()}'
        )
    set_temperature(model, 1.0)  # the stored value replaces it when the weights load
