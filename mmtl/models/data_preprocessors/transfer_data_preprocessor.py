"""mmpretrain's ``ClsDataPreprocessor`` with one pass per image for a batch of uint8 images."""

from typing import List

import torch
from mmpretrain.models import ClsDataPreprocessor

from mmtl.registry import MODELS


@MODELS.register_module()
class TransferDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` (same arguments) with a fast path for uint8 image batches.

    For same-size uint8 images the stock preprocessor makes five copies of each (RGB flip,
    float, mean, std, stack); this one writes each image once into the float batch and scales
    it in place, with the same float32 operations (``(x - mean) / std``): the result is
    bit-identical. Every other input goes through the stock code.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise ``data['inputs']`` and batch the labels, as ``ClsDataPreprocessor``.

        Args:
            data (dict): A batch from the dataloader (``inputs``, ``data_samples``).
            training (bool): Apply the batch augments. Defaults to False.

        Returns:
            dict: ``inputs`` (float batch on this preprocessor's device) and ``data_samples``.
        """
        inputs = data.get('inputs')
        if not self._fast_path_applies(inputs):
            return super().forward(data, training)
        batch = self._normalised_batch(inputs)
        # The stock code batches the labels; with conversion off, it leaves the images alone.
        saved = self.to_rgb, self._enable_normalize
        self.to_rgb, self._enable_normalize = False, False
        try:
            return super().forward({**data, 'inputs': batch}, training)
        finally:
            self.to_rgb, self._enable_normalize = saved

    def _fast_path_applies(self, inputs) -> bool:
        if not isinstance(inputs, (list, tuple)) or not inputs or self.pad_size_divisor != 1:
            return False
        first = inputs[0]
        if not isinstance(first, torch.Tensor) or first.dim() != 3:
            return False
        return all(
            isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and x.shape == first.shape
            for x in inputs
        )

    def _normalised_batch(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Float batch ``(N, C, H, W)``: RGB if asked, normalised if mean/std are set."""
        flip = bool(self.to_rgb) and inputs[0].shape[0] == 3
        device = self._device
        if device.type != 'cpu':
            batch = torch.stack(list(inputs)).to(device, non_blocking=True)
            batch = (batch.flip(1) if flip else batch).float()
            return self._scale_in_place(batch)
        out = torch.empty((len(inputs), *inputs[0].shape), dtype=torch.float32)
        for target, image in zip(out, inputs):
            target.copy_(image.flip(0) if flip else image)  # one copy: reorder + to float
            self._scale_in_place(target)
        return out

    def _scale_in_place(self, images: torch.Tensor) -> torch.Tensor:
        if self._enable_normalize:
            images.sub_(self.mean).div_(self.std)  # the stock operations, in place
        return images
