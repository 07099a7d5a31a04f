"""Optimizer wrappers for transfer learning: the constructor that keeps frozen parameters and
decays the lr by layer, and bfloat16 autocast where mmengine's AmpOptimWrapper cannot go (the
CPU)."""

from contextlib import contextmanager
from typing import List, Optional

import torch
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmtl.models.backbone_layout import parameter_depths
from mmtl.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS
from mmtl.utils.modules import bare_model


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TransferOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, plus two things transfer learning needs.

    1. Frozen parameters are put in the optimizer too (the stock constructor drops them when
       ``paramwise_cfg`` is set), so that a module unfrozen later trains and resuming sees
       the same groups. Optimizers skip parameters without a gradient, weight decay included.
    2. Layer-wise lr decay: ``paramwise_cfg=dict(layer_decay_rate=0.7)`` multiplies the lr of
       a backbone parameter at depth ``d`` by ``rate ** (L - 1 - d)``, ``L`` levels with the
       head's on top (:func:`mmtl.models.backbone_layout.parameter_depths`); neck and head keep
       the full lr. The other paramwise options (``lr_mult``) apply first.

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config (with ``optimizer``).
        paramwise_cfg (dict, optional): mmengine's paramwise options plus ``layer_decay_rate``
            (float in (0, 1]).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.layer_decay_rate = paramwise_cfg.pop('layer_decay_rate', None)
        if self.layer_decay_rate is not None and not 0 < self.layer_decay_rate <= 1:
            raise ValueError(
                'optim_wrapper.paramwise_cfg.layer_decay_rate='
                f'{self.layer_decay_rate} must be in (0, 1]'
            )
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper for ``model``.

        Args:
            model (nn.Module): The model (or a DDP wrapper around it).

        Returns:
            OptimWrapper: The optimizer wrapper, frozen parameters included.
        """
        module = bare_model(model)
        if self.layer_decay_rate is not None and not self.paramwise_cfg:
            # An empty paramwise_cfg makes the parent pass model.parameters() as one group.
            self.paramwise_cfg = dict(custom_keys={})
        frozen = [param for param in module.parameters() if not param.requires_grad]
        for param in frozen:
            param.requires_grad_(True)
        try:
            optim_wrapper = super().__call__(module)
        finally:
            for param in frozen:
                param.requires_grad_(False)
        if self.layer_decay_rate is not None:
            self._decay_backbone_lr(module, optim_wrapper.optimizer.param_groups)
        return optim_wrapper

    def _decay_backbone_lr(self, model: nn.Module, param_groups: List[dict]) -> None:
        depths, num_levels = parameter_depths(model)
        names = {id(param): name for name, param in model.named_parameters()}
        for group in param_groups:
            name = names[id(group['params'][0])]
            if name not in depths:
                continue
            scale = self.layer_decay_rate ** (num_levels - 1 - depths[name])
            group['lr'] = group.get('lr', self.base_lr) * scale
            group['layer_decay_scale'] = scale


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
        """The parent's context (gradient sync control when accumulating) + bf16 autocast.

        Args:
            model (torch.nn.Module): The model being trained.
        """
        with super().optim_context(model), torch.autocast(self.device_type, torch.bfloat16):
            yield
