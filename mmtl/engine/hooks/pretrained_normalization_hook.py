"""Warn when the config normalises images otherwise than the pretrained weights were trained."""

import logging
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook

from mmtl.models.converters.timm import PRETRAINED_CFG_CHECKS
from mmtl.registry import HOOKS
from mmtl.utils.modules import bare_model
from mmtl.utils.prediction_rows import safe_text


def _as_list(values) -> Optional[list]:
    if values is None:
        return None
    return [float(v) for v in torch.as_tensor(values).flatten()]


def normalization_mismatch(
    pretrained_cfg: dict,
    mean: Optional[Sequence[float]],
    std: Optional[Sequence[float]],
    rtol: float = 1e-3,
) -> Optional[str]:
    """Describe how a data preprocessor's mean/std differ from the weights' own.

    Args:
        pretrained_cfg (dict): The weights' ``pretrained_cfg`` (timm's: mean and std of RGB
            channels in 0-1, optionally ``input_size`` and ``model``).
        mean (Sequence[float] | None): The preprocessor's mean (0-255, as mmpretrain's), or
            None when it does not normalise.
        std (Sequence[float] | None): Its standard deviation, likewise.
        rtol (float): Relative tolerance. Defaults to 1e-3.

    Returns:
        str | None: One line saying what differs and what to set, or None when they agree (or
        the weights record no mean/std).
    """
    # Values from the checkpoint that fail timm's checks are ignored.
    pretrained_cfg = {
        key: value
        for key, value in pretrained_cfg.items()
        if key not in PRETRAINED_CFG_CHECKS or PRETRAINED_CFG_CHECKS[key](value)
    }
    want_mean, want_std = pretrained_cfg.get('mean'), pretrained_cfg.get('std')
    if want_mean is None or want_std is None:
        return None
    want_mean = [255 * float(v) for v in want_mean]
    want_std = [255 * float(v) for v in want_std]
    have_mean, have_std = _as_list(mean), _as_list(std)
    if have_mean is not None and have_std is not None and len(have_mean) == len(want_mean):
        close = torch.allclose(torch.tensor(have_mean), torch.tensor(want_mean), rtol=rtol)
        close &= torch.allclose(torch.tensor(have_std), torch.tensor(want_std), rtol=rtol)
        if close:
            return None

    def fmt(values):
        return '[' + ', '.join(f'{v:.3f}' for v in values) + ']' if values is not None else 'none'

    model = safe_text(str(pretrained_cfg.get('model') or 'the pretrained weights'))
    size = pretrained_cfg.get('input_size')
    trained = f' (trained at {size[-2]}x{size[-1]})' if size else ''
    return (
        f'{model}{trained} expects inputs normalised with mean {fmt(want_mean)} and std '
        f'{fmt(want_std)} (0-255, from its pretrained_cfg), but data_preprocessor uses mean '
        f'{fmt(have_mean)} and std {fmt(have_std)}: set data_preprocessor.mean='
        f'{fmt(want_mean)} and std={fmt(want_std)} in the config, or fine-tuning starts from '
        f'shifted features'
    )


@HOOKS.register_module()
class PretrainedNormalizationHook(Hook):
    """After ``load_from``, warn when the data preprocessor's mean/std differ from those the
    weights record (``meta.pretrained_cfg`` of weights converted from timm)."""

    priority = 'VERY_LOW'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        pretrained_cfg = (checkpoint.get('meta') or {}).get('pretrained_cfg')
        if not pretrained_cfg:
            return
        model = bare_model(runner.model)
        preprocessor = getattr(model, 'data_preprocessor', None)
        normalizes = getattr(preprocessor, '_enable_normalize', False)
        mean = getattr(preprocessor, 'mean', None) if normalizes else None
        std = getattr(preprocessor, 'std', None) if normalizes else None
        message = normalization_mismatch(pretrained_cfg, mean, std)
        if message:
            runner.logger.log(logging.WARNING, message)
