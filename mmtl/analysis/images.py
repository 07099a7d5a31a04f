"""Images through a config's pipeline and a model's data preprocessor, and back for display."""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import set_random_seed
from torch.utils.data import DataLoader

from mmtl.config.access import innermost_dataset
from mmtl.visualization.figure import file_caption

from .dataset_stats import sample_indices


def packed_to_display(packed_inputs: torch.Tensor, normalisation=None) -> np.ndarray:
    """A packed ``CxHxW`` BGR image (what ``PackInputs`` makes) as ``HxWx3`` RGB uint8.

    Args:
        packed_inputs (torch.Tensor): The image.
        normalisation (tuple, optional): ``(mean, std)`` of a pipeline ``Normalize`` to undo
            first. Defaults to None.
    """
    if normalisation is not None:
        mean, std = (torch.as_tensor(v, dtype=torch.float32).view(-1, 1, 1) for v in normalisation)
        packed_inputs = packed_inputs.float() * std + mean
    image = packed_inputs.detach().cpu().numpy().transpose(1, 2, 0)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.clip(image[..., ::-1], 0, 255).astype(np.uint8)


def preprocess(model: torch.nn.Module, samples: Sequence[dict]) -> torch.Tensor:
    """Collate packed samples and run the model's data preprocessor (normalise, to RGB)."""
    return model.data_preprocessor(pseudo_collate(list(samples)), False)['inputs']


def load_image(model: torch.nn.Module, cfg: Config, path: str) -> Tuple[torch.Tensor, np.ndarray]:
    """Read an image file through the config's test pipeline and the data preprocessor.

    Returns:
        tuple: ``(inputs, display)``: the ``1xCxHxW`` network input and the same image as
        ``HxWx3`` RGB uint8 for drawing.
    """
    pipeline = innermost_dataset(cfg.test_dataloader.dataset).pipeline
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        packed = Compose(pipeline)(dict(img_path=path))
    return preprocess(model, [packed]), packed_to_display(packed['inputs'])


def pipeline_normalisation(dataset) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(mean, std)`` of a ``Normalize`` transform in the dataset's pipeline, if any."""
    for transform in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if type(transform).__name__ == 'Normalize':
            return np.asarray(transform.mean), np.asarray(transform.std)
    return None


def sample_grid(dataset, num: int, seed: int = 0) -> Tuple[List[np.ndarray], List[str], List[int]]:
    """Draw ``num`` distinct random samples through the pipeline, seeded.

    Args:
        dataset: A dataset whose pipeline ends in ``PackInputs``.
        num (int): Samples (fewer when the dataset is smaller).
        seed (int): Seeds the choice and the random augmentations. Defaults to 0.

    Returns:
        tuple: ``(images, titles, indices)``: RGB uint8 images, titles (class name, then the
        file name) and the dataset indices drawn.
    """
    if len(dataset) == 0:
        raise ValueError('the dataset is empty')
    set_random_seed(seed)
    indices = sample_indices(len(dataset), num, np.random.default_rng(seed))
    classes: Sequence[str] = dataset.metainfo.get('classes') or []
    normalisation = pipeline_normalisation(dataset)
    images, titles = [], []
    for index in indices:
        sample = dataset[index]
        label = int(sample['data_samples'].gt_label[0])
        images.append(packed_to_display(sample['inputs'], normalisation))
        name = classes[label] if label < len(classes) else str(label)
        path = dataset.get_data_info(index).get('img_path')
        titles.append(f'{name}\n{file_caption(path)}' if path else name)
    return images, titles, indices


def extract_features(
    model: torch.nn.Module, dataset, batch_size: int = 64
) -> Tuple[np.ndarray, np.ndarray]:
    """Run the dataset through the model up to its neck (the penultimate features).

    Args:
        model (torch.nn.Module): An mmpretrain ``ImageClassifier`` (``extract_feat``).
        dataset: A dataset whose pipeline ends in ``PackInputs``.
        batch_size (int): Images per forward pass. Defaults to 64.

    Returns:
        tuple: ``(features, labels)``: ``N x D`` float32 and ``N`` int64, in dataset order.
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=list)
    features, labels = [], []
    model.eval()
    with torch.no_grad():
        for samples in loader:
            feats = model.extract_feat(preprocess(model, samples), stage='neck')
            feats = feats[-1] if isinstance(feats, (list, tuple)) else feats
            features.append(feats.flatten(1).cpu().numpy())
            labels.extend(int(s['data_samples'].gt_label[0]) for s in samples)
    if not features:
        raise ValueError('the dataset is empty: no features to extract')
    return np.concatenate(features).astype(np.float32), np.asarray(labels, dtype=np.int64)
