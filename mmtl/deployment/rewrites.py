"""Export-time replacements for upstream methods whose trace freezes the batch size.

Each replacement computes exactly what the original does, with the batch dimension left to
``view(-1, ...)`` instead of a Python ``int`` that a trace would bake in. They are active only
while a model is exported (:func:`export_rewrites`).
"""

from contextlib import ExitStack, contextmanager
from typing import Iterator
from unittest import mock

import torch
from mmpretrain.models.utils.attention import ShiftWindowMSA


def _window_reverse(windows: torch.Tensor, H: int, W: int, window_size: int) -> torch.Tensor:
    """Swin's ``window_reverse``: windows ``(nW*B, ws, ws, C)`` -> ``(B, H, W, C)``."""
    channels = windows.shape[-1]
    x = windows.view(-1, H // window_size, W // window_size, window_size, window_size, channels)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, channels)


#: ``(class, method name) -> replacement`` (static methods).
REWRITES = {(ShiftWindowMSA, 'window_reverse'): _window_reverse}


@contextmanager
def export_rewrites() -> Iterator[None]:
    """Use the replacements of :data:`REWRITES` inside the ``with`` block."""
    with ExitStack() as stack:
        for (owner, name), replacement in REWRITES.items():
            stack.enter_context(mock.patch.object(owner, name, staticmethod(replacement)))
        yield
