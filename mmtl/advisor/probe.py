"""How well frozen features separate classes: pooled stage outputs and a ridge linear probe."""

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from mmtl.analysis.feature_hooks import block_outputs, capture_features, pooled
from mmtl.analysis.images import preprocess


def backbone_stages(model: nn.Module) -> List[str]:
    """The backbone's blocks, input to output (:func:`mmtl.analysis.feature_hooks.block_outputs`).

    MobileNet-v2 gives ``conv1, layer1 ... layer7, conv2``; ResNet ``conv1, layer1 ...
    layer4``; a ViT ``patch_embed, layers.0 ... layers.11``.
    """
    stages = list(block_outputs(model))
    if not stages:
        raise ValueError(f'{type(model.backbone).__name__} has no blocks to probe')
    return stages


def _loader(dataset, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=list)


def recalibrate_batchnorm(model: nn.Module, dataset, batch_size: int = 64) -> None:
    """Re-estimate BatchNorm statistics on ``dataset`` (for randomly initialised networks).

    A random network's BatchNorm layers hold mean 0 / variance 1, which do not describe its
    own activations; a pass in train mode with cumulative averages (``momentum=None``)
    gives the statistics a fair random baseline needs. Weights are not changed.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()  # only the norms run in train mode (also inside frozen modules)
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    with torch.no_grad():
        for samples in _loader(dataset, batch_size):
            model.extract_feat(preprocess(model, samples), stage='backbone')
    model.eval()


def stage_features(
    model: nn.Module,
    dataset,
    stages: List[str],
    batch_size: int = 64,
    progress: Optional[Callable[[int], None]] = None,
) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """Pooled features of every stage for every image of a dataset.

    Args:
        model (nn.Module): The classifier (eval mode is set here).
        dataset: A dataset whose pipeline ends in ``PackInputs``.
        stages (list[str]): Module names (see :func:`backbone_stages`).
        batch_size (int): Images per forward pass. Defaults to 64.
        progress (Callable, optional): Called with the batch size after each batch.

    Returns:
        tuple: ``({stage: N x C float32}, N int64 labels)``.
    """
    model.eval()
    labels: List[int] = []
    captured: Dict[str, List[torch.Tensor]] = {name: [] for name in stages}
    with capture_features(model, stages) as outputs, torch.no_grad():
        for samples in _loader(dataset, batch_size):
            model.extract_feat(preprocess(model, samples), stage='backbone')
            for name in stages:
                captured[name].append(pooled(outputs[name]).float().cpu())
            labels.extend(int(s['data_samples'].gt_label[0]) for s in samples)
            if progress:
                progress(len(samples))
    if not labels:
        raise ValueError('the dataset is empty: no features to extract')
    feats = {
        name: torch.cat(chunks).numpy().astype(np.float32) for name, chunks in captured.items()
    }
    return feats, np.asarray(labels, dtype=np.int64)


def ridge_probe_predictions(
    train_x: np.ndarray,
    train_y: np.ndarray,
    eval_x: np.ndarray,
    num_classes: int,
    alpha: float = 1.0,
) -> np.ndarray:
    """Predicted labels of a closed-form ridge regression onto one-hot labels.

    Features are standardised with the train mean/std; the ridge penalty is ``alpha`` times
    the number of training images (scale-free). The dual form is used when features are
    wider than the training set. No iterations, no learning rate: the same figure for every
    feature set, so pretrained and random features compare fairly.

    Args:
        train_x (np.ndarray): ``N x D`` training features.
        train_y (np.ndarray): ``N`` training labels.
        eval_x (np.ndarray): ``M x D`` features to predict.
        num_classes (int): Number of classes.
        alpha (float): Penalty per training image. Defaults to 1.

    Returns:
        np.ndarray: ``M`` predicted labels.
    """
    x = train_x.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    x = (x - mean) / std
    v = (eval_x.astype(np.float64) - mean) / std
    targets = np.eye(num_classes)[train_y]
    offset = targets.mean(axis=0)
    targets = targets - offset
    lam = alpha * len(x)
    n, d = x.shape
    if d <= n:
        weights = np.linalg.solve(x.T @ x + lam * np.eye(d), x.T @ targets)
    else:
        weights = x.T @ np.linalg.solve(x @ x.T + lam * np.eye(n), targets)
    return (v @ weights + offset).argmax(axis=1)


def cross_validated_probe(
    x: np.ndarray, y: np.ndarray, num_classes: int, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Per-image correctness of the ridge probe scored by stratified k-fold on ``x`` alone.

    For when there is no separate val: every image is predicted by a probe that did not
    see it. ``folds`` shrinks to the smallest class size (at least 2).

    Args:
        x (np.ndarray): ``N x D`` features.
        y (np.ndarray): ``N`` labels.
        num_classes (int): Number of classes.
        folds (int): k. Defaults to 5.
        seed (int): Seed of the fold shuffle. Defaults to 0.

    Returns:
        np.ndarray: ``N`` booleans, True where the held-out prediction is right.

    Raises:
        ValueError: A class has a single image (it cannot be both trained and scored).
    """
    from sklearn.model_selection import StratifiedKFold

    smallest = min(int(c) for c in np.bincount(y) if c) if len(y) else 0
    if smallest < 2:
        raise ValueError('a class has a single training image: no cross-validated probe')
    kfold = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
    correct = np.zeros(len(y), dtype=bool)
    for train, held_out in kfold.split(x, y):
        pred = ridge_probe_predictions(x[train], y[train], x[held_out], num_classes)
        correct[held_out] = pred == y[held_out]
    return correct
