"""Penultimate features (the neck output) of every image of a dataset."""

from typing import Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from .images import preprocess


def extract_features(
    model: torch.nn.Module, dataset, batch_size: int = 64
) -> Tuple[np.ndarray, np.ndarray]:
    """Run the dataset through the model up to its neck.

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
