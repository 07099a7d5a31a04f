"""Mixed precision in bfloat16 where mmengine's AmpOptimWrapper cannot go: the CPU."""

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmtl.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """An OptimWrapper that runs the forward pass and the loss under bfloat16 autocast
    (mmengine's AmpOptimWrapper needs a GPU). bfloat16 keeps float32's exponent range, so
    gradients need no loss scaling; parameters and gradients stay float32.

    Args:
        device_type (str): ``torch.autocast`` device type. Defaults to ``'cpu'``.
        **kwargs: Arguments of :class:`~mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, device_type: str = 'cpu', **kwargs):
        super().__init__(**kwargs)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """The parent's context (gradient sync control when accumulating) + bf16 autocast."""
        with super().optim_context(model), torch.autocast(self.device_type, torch.bfloat16):
            yield
