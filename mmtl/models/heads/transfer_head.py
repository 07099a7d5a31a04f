"""A classification head for transfer learning: hidden layers, dropout, stacking."""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmpretrain.models.heads import ClsHead

from mmtl.registry import MODELS


@MODELS.register_module()
class TransferClsHead(ClsHead):
    """Classifier head with optional hidden layers and an optional stacked source classifier.

    Two layouts, both fed with the pooled backbone features (``in_channels`` wide):

    - replace (default): ``features -> [Linear -> act -> Dropout] * len(hidden_channels)
      -> Dropout -> fc(num_classes)``. The pretrained classifier (``head.fc`` of an ImageNet
      checkpoint) has another shape and is skipped when the checkpoint loads.
    - stack (``source_classes=1000``): ``features -> fc(source_classes) -> [hidden layers]
      -> Dropout -> new_fc(num_classes)``. ``fc`` keeps the name and shape of the pretrained
      classifier, so ``load_from`` fills it with the ImageNet weights; the new classes are
      learnt on top of the 1000 ImageNet scores. Freeze it with
      ``TransferClassifier(frozen_modules=['head.fc'])`` to keep it exactly as pretrained.

    Args:
        num_classes (int): Number of target classes.
        in_channels (int): Width of the pooled features from the neck.
        hidden_channels (Sequence[int]): Widths of the hidden linear layers, in order.
            Defaults to ``()`` (a single linear classifier).
        dropout (float): Dropout probability after each hidden layer and before the final
            classifier. Defaults to 0.
        act_cfg (dict, optional): Activation after each hidden layer. Defaults to ReLU.
        source_classes (int, optional): Width of a pretrained classifier to keep and stack the
            new classifier on (1000 for ImageNet). Defaults to None (replace it).
        init_cfg (dict, optional): Initialisation of the linear layers. Defaults to (None
            means) ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of :class:`mmpretrain.models.ClsHead`.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        hidden_channels: Sequence[int] = (),
        dropout: float = 0.0,
        act_cfg: Optional[dict] = None,
        source_classes: Optional[int] = None,
        init_cfg: Optional[dict] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            init_cfg=init_cfg or dict(type='Normal', layer='Linear', std=0.01), **kwargs
        )
        act_cfg = act_cfg or dict(type='ReLU')
        for name, value in (('num_classes', num_classes), ('in_channels', in_channels)):
            if value <= 0:
                raise ValueError(f'TransferClsHead: {name}={value} must be a positive integer')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'TransferClsHead: dropout={dropout} must be in [0, 1)')
        if any(width <= 0 for width in hidden_channels):
            raise ValueError(
                f'TransferClsHead: hidden_channels={list(hidden_channels)} must be positive'
            )
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.source_classes = source_classes

        width = in_channels
        if source_classes is not None:
            self.fc = nn.Linear(in_channels, source_classes)
            width = source_classes
        hidden = []
        for out_width in hidden_channels:
            hidden += [nn.Linear(width, out_width), build_activation_layer(act_cfg)]
            if dropout > 0:
                hidden.append(nn.Dropout(dropout))
            width = out_width
        self.hidden = nn.Sequential(*hidden)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        classifier = nn.Linear(width, num_classes)
        if source_classes is None:
            self.fc = classifier
        else:
            self.new_fc = classifier

    @property
    def classifier(self) -> nn.Linear:
        """The final linear layer that gives the target-class scores."""
        return self.fc if self.source_classes is None else self.new_fc

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Features right before the final classifier (for t-SNE, retrieval, ...).

        Args:
            feats (tuple[Tensor]): Neck outputs; the last one is used.

        Returns:
            Tensor: ``(N, C)`` features entering the target classifier.
        """
        x = feats[-1]
        if self.source_classes is not None:
            x = self.fc(x)
        return self.hidden(x)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class scores (logits) for the target classes.

        Args:
            feats (tuple[Tensor]): Neck outputs; the last one is used.

        Returns:
            Tensor: ``(N, num_classes)`` logits.
        """
        return self.classifier(self.dropout(self.pre_logits(feats)))
