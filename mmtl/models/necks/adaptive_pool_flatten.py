"""Average-pool a feature map to a fixed grid and flatten it, as torchvision's VGG does."""

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmtl.registry import MODELS


@MODELS.register_module()
class AdaptivePoolFlatten(BaseModule):
    """Adaptive average pooling to ``output_size`` followed by flattening.

    torchvision's VGG pools the last feature map to 7x7 with ``AdaptiveAvgPool2d`` before its
    fully connected classifier, so the classifier works at any input size (at 224x224 the map
    is already 7x7 and the pooling changes nothing). mmpretrain's VGG backbone has no such
    pooling; this neck restores it, so that a VGG with a ``StackedLinearClsHead`` computes what
    torchvision's VGG computes.

    Args:
        output_size (int | tuple[int, int]): Grid to pool to. Defaults to 7.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(
        self,
        output_size: Union[int, Tuple[int, int]] = 7,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.pool = nn.AdaptiveAvgPool2d(output_size)

    def forward(
        self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> Tuple[torch.Tensor, ...]:
        """Pool and flatten each feature map.

        Args:
            inputs (Tensor | Sequence[Tensor]): One ``(N, C, H, W)`` map or several.

        Returns:
            tuple[Tensor]: ``(N, C * h * w)`` for each map: a tuple even for one map, since
            mmpretrain's heads take the last entry of what the neck gives.
        """
        maps = (inputs,) if isinstance(inputs, torch.Tensor) else inputs
        return tuple(self.pool(feature).flatten(1) for feature in maps)
