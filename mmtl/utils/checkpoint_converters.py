"""Where checkpoints in other libraries' layouts are converted on load.

:func:`convert_checkpoint` offers every checkpoint mmtl reads to the functions in
:data:`CHECKPOINT_CONVERTERS` (``mmtl.models.converters`` adds timm's and torchvision's), each
called as ``converter(state_dict, meta, source)``; the first that returns an mmengine
checkpoint instead of None wins. A checkpoint whose meta says ``converted_from`` is one a
converter wrote, and is offered to none.
"""

from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import torch

Converter = Callable[[Mapping[str, torch.Tensor], dict, str], Optional[dict]]
#: Converter name -> function, tried in insertion order.
CHECKPOINT_CONVERTERS: Dict[str, Converter] = {}


def split_checkpoint(checkpoint: Any) -> Optional[Tuple[Mapping[str, torch.Tensor], dict]]:
    """The tensors and meta data of ``checkpoint``, if it holds a plain state dict.

    Args:
        checkpoint: Anything loaded from a checkpoint file.

    Returns:
        tuple | None: ``(state_dict, meta)`` for a bare ``{name: tensor}`` dict or a
        ``{'state_dict': {name: tensor}, 'meta': {...}}`` checkpoint; None for anything else.
    """
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        return None
    if _is_tensor_dict(checkpoint):
        return checkpoint, {}
    state = checkpoint.get('state_dict')
    if _is_tensor_dict(state):
        return state, dict(checkpoint.get('meta') or {})
    return None


def _is_tensor_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def convert_checkpoint(checkpoint: Any, source: str) -> Any:
    """Offer ``checkpoint`` to each registered converter; the first that claims it wins.

    Args:
        checkpoint: The object loaded from ``source``.
        source (str): The checkpoint's file name or address.

    Returns:
        The converted mmengine checkpoint, or ``checkpoint`` unchanged when no converter
        claims it (an mmtl/mmpretrain checkpoint, say) or it was converted already.
    """
    parts = split_checkpoint(checkpoint)
    if parts is None or parts[1].get('converted_from'):
        return checkpoint
    state_dict, meta = parts
    for converter in CHECKPOINT_CONVERTERS.values():
        result = converter(state_dict, meta, source)
        if result is not None:
            return result
    return checkpoint
