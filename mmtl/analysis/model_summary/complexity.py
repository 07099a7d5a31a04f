"""Parameter and FLOP counts (FLOPs from mmengine's ``get_model_complexity_info``)."""

import contextlib
from typing import Dict, Iterator, Sequence, Tuple

from torch import nn

from .tracing import (
    evaluation_mode,
    leaf_modules,
    random_input,
)


def count_params(model: nn.Module) -> Tuple[int, int]:
    """Total and trainable (``requires_grad``) parameter counts.

    Args:
        model (nn.Module): The model.

    Returns:
        tuple[int, int]: ``(total, trainable)``.
    """
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@contextlib.contextmanager
def _quiet_mmengine_logger() -> Iterator[None]:
    """Hold back mmengine's per-operator warnings (unsupported/uncalled) of the analyzers."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')
    try:
        yield
    finally:
        logger.setLevel(level)


def model_complexity(
    model: nn.Module,
    input_shape: Sequence[int],
    show_table: bool = False,
    show_arch: bool = False,
) -> Dict[str, object]:
    """Parameters, FLOPs and activations of one image, by mmengine's ``get_model_complexity_info``.

    mmengine (like fvcore) counts one multiply-add as one FLOP: a ``Conv2d`` costs
    ``C_out * C_in / groups * k_h * k_w * H_out * W_out`` and a ``Linear`` ``in * out``.
    The model runs in eval mode without gradients (BN statistics are left untouched).

    Args:
        model (nn.Module): The model; called as ``model(inputs)``.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        show_table (bool): Also build the per-module table (parameters, FLOPs and
            activations of each module, nested). Defaults to False.
        show_arch (bool): Also build the architecture annotated with the same figures.
            Defaults to False.

    Returns:
        dict: mmengine's result: ``flops``, ``params``, ``activations`` (ints), their
        ``*_str`` forms, ``out_table`` and ``out_arch`` (the texts, or ``''``).
    """
    from mmengine.analysis import get_model_complexity_info

    with evaluation_mode(model), _quiet_mmengine_logger():
        return get_model_complexity_info(
            model,
            inputs=(random_input(model, input_shape),),
            show_table=show_table,
            show_arch=show_arch,
        )


def format_layer_types(model: nn.Module) -> str:
    """Leaf modules counted by class, most frequent first: ``'52 Conv2d, 52 BatchNorm2d'``."""
    from collections import Counter

    counts = Counter(type(module).__name__ for _, module in leaf_modules(model))
    return ', '.join(f'{count} {name}' for name, count in counts.most_common())


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs (multiply-adds) of one image through ``model``; see :func:`model_complexity`.

    Args:
        model (nn.Module): The model; called as ``model(inputs)``.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.

    Returns:
        int: FLOPs for a batch of one.
    """
    return int(model_complexity(model, input_shape)['flops'])
