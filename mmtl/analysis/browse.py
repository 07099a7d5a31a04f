"""Random samples of a dataset as its pipeline delivers them, ready to draw."""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.runner import set_random_seed

from mmtl.visualization.figure import file_caption

from .images import packed_to_display


def pipeline_normalisation(dataset) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(mean, std)`` of a ``Normalize`` transform in the dataset's pipeline, if any."""
    for transform in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if type(transform).__name__ == 'Normalize':
            return np.asarray(transform.mean), np.asarray(transform.std)
    return None


def to_display(inputs: torch.Tensor, normalisation=None) -> np.ndarray:
    """A packed BGR image as RGB uint8, undoing a pipeline ``Normalize`` first."""
    if normalisation is not None:
        mean, std = (torch.as_tensor(v, dtype=torch.float32).view(-1, 1, 1) for v in normalisation)
        inputs = inputs.float() * std + mean
    return packed_to_display(inputs)


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
    rng = np.random.default_rng(seed)
    indices = sorted(rng.choice(len(dataset), size=min(num, len(dataset)), replace=False).tolist())
    classes: Sequence[str] = dataset.metainfo.get('classes') or []
    normalisation = pipeline_normalisation(dataset)
    images, titles = [], []
    for index in indices:
        sample = dataset[index]
        label = int(sample['data_samples'].gt_label[0])
        images.append(to_display(sample['inputs'], normalisation))
        name = classes[label] if label < len(classes) else str(label)
        path = dataset.get_data_info(index).get('img_path')
        titles.append(f'{name}\n{file_caption(path)}' if path else name)
    return images, titles, indices
