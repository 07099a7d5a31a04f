"""The module that is exported: image tensor in, logits (and optionally scores) out."""

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn


class ExportableClassifier(nn.Module):
    """An mmpretrain classifier as a plain ``tensor -> tensor`` module: the head's logits
    (``mode='tensor'``), optionally the softmax scores, optionally with the normalisation
    folded in so that the graph takes raw 0-255 pixels.

    Args:
        classifier (nn.Module): An mmpretrain ``ImageClassifier`` (or any module whose
            ``forward(inputs, mode='tensor')`` returns logits).
        mean (Sequence[float], optional): Per-channel mean to subtract inside the graph
            (0-255 scale). None: the input is already normalised.
        std (Sequence[float], optional): Per-channel std to divide by inside the graph.
        with_scores (bool): Also output softmax scores. Defaults to False.
    """

    def __init__(
        self,
        classifier: nn.Module,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        with_scores: bool = False,
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.fold_normalization = mean is not None
        if self.fold_normalization:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.with_scores = with_scores

    @property
    def output_names(self) -> Tuple[str, ...]:
        return ('logits', 'scores') if self.with_scores else ('logits',)

    def forward(self, inputs: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Classify a batch.

        Args:
            inputs (torch.Tensor): ``N x C x H x W`` images: normalised float32, or 0-255
                pixels (uint8 or float) when the normalisation is folded in.

        Returns:
            torch.Tensor | tuple: Logits, and softmax scores when ``with_scores``.
        """
        if self.fold_normalization:
            inputs = (inputs.float() - self.mean) / self.std
        logits = self.classifier(inputs, mode='tensor')
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        if self.with_scores:
            return logits, torch.softmax(logits, dim=1)
        return logits
