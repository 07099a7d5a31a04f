"""Images through a config's pipeline and data preprocessor, and back for display."""

from typing import Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from mmtl.utils.config_access import innermost_dataset


def build_test_pipeline(cfg: Config) -> Compose:
    """The test dataset's pipeline of ``cfg``, built in mmtl's scope."""
    pipeline = innermost_dataset(cfg.test_dataloader.dataset).pipeline
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        return Compose(pipeline)


def packed_to_display(packed_inputs: torch.Tensor) -> np.ndarray:
    """A packed ``CxHxW`` BGR image (what ``PackInputs`` makes) as ``HxWx3`` RGB uint8."""
    image = packed_inputs.detach().cpu().numpy().transpose(1, 2, 0)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.clip(image[..., ::-1], 0, 255).astype(np.uint8)


def preprocess(model: torch.nn.Module, samples: Sequence[dict]) -> torch.Tensor:
    """Collate packed samples and run the model's data preprocessor (normalise, to RGB)."""
    data = model.data_preprocessor(pseudo_collate(list(samples)), False)
    return data['inputs']


def load_image(model: torch.nn.Module, cfg: Config, path: str) -> Tuple[torch.Tensor, np.ndarray]:
    """Read an image file through the test pipeline and the data preprocessor.

    Args:
        model (torch.nn.Module): The classifier (its ``data_preprocessor`` normalises).
        cfg (Config): The config whose test pipeline resizes/crops.
        path (str): Image file.

    Returns:
        tuple: ``(inputs, display)``: the ``1xCxHxW`` network input and the same image as
        ``HxWx3`` RGB uint8 for drawing.
    """
    packed = build_test_pipeline(cfg)(dict(img_path=path))
    return preprocess(model, [packed]), packed_to_display(packed['inputs'])
