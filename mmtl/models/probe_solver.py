"""An exact linear probe: multinomial logistic regression on fixed features, full batch.

The protocol of the CLIP and DINOv2 papers' linear evaluations: the classifier is fitted to
convergence with L-BFGS on all the training features at once (no learning rate, no epochs),
for each weight decay of a grid, and the weight decay with the best validation top-1 wins.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

#: Weight decays tried by :func:`fit_linear_probe` (per image, on standardised features).
DEFAULT_WEIGHT_DECAYS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


@dataclass
class ProbeFit:
    """A fitted linear classifier ``logits = x @ weight.T + bias`` on the raw features.

    Args:
        weight (torch.Tensor): ``num_classes x D``.
        bias (torch.Tensor): ``num_classes``.
        weight_decay (float): The weight decay chosen.
        val_top1 (float, optional): Val top-1 (%) of the chosen fit; None without val data.
        train_top1 (float): Train top-1 (%) of the chosen fit.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    weight_decay: float
    val_top1: Optional[float]
    train_top1: float


def _top1(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(100.0 * ((x @ weight.T + bias).argmax(1) == y).double().mean())


def _lbfgs(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    weight_decay: float,
    init: Optional[torch.Tensor],
    max_iter: int,
) -> torch.Tensor:
    """Minimise mean cross-entropy + ``weight_decay/2 * |W|^2`` (bias not decayed)."""
    params = torch.zeros(x.shape[1] + 1, num_classes, dtype=x.dtype)
    if init is not None:
        params.copy_(init)
    params.requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [params],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-7,
        tolerance_change=1e-10,
        line_search_fn='strong_wolfe',
    )

    def closure():
        optimizer.zero_grad()
        logits = x @ params[:-1] + params[-1]
        loss = F.cross_entropy(logits, y) + 0.5 * weight_decay * params[:-1].pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return params.detach()


def fit_linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    num_classes: int,
    val_x: Optional[torch.Tensor] = None,
    val_y: Optional[torch.Tensor] = None,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    max_iter: int = 200,
) -> ProbeFit:
    """Fit multinomial logistic regression with L-BFGS; pick the weight decay on val.

    Features are standardised with the train mean and std for the solve (so one weight-decay
    grid suits every backbone); the returned weight and bias act on the raw features. The
    fits run from the largest weight decay to the smallest, each starting from the previous
    solution. Without val data the smallest weight decay of the grid that is at least 1e-4 is
    used (a mild default).

    Args:
        train_x (torch.Tensor): ``N x D`` training features.
        train_y (torch.Tensor): ``N`` labels in ``[0, num_classes)``.
        num_classes (int): Number of classes.
        val_x (torch.Tensor, optional): ``M x D`` validation features.
        val_y (torch.Tensor, optional): ``M`` validation labels.
        weight_decays (Sequence[float]): The grid. Defaults to :data:`DEFAULT_WEIGHT_DECAYS`.
        max_iter (int): L-BFGS iterations per weight decay. Defaults to 200.

    Returns:
        ProbeFit: The fit with the best val top-1 (ties: the larger weight decay).

    Raises:
        ValueError: Labels out of range.
    """
    if int(train_y.min()) < 0 or int(train_y.max()) >= num_classes:
        raise ValueError(f'fit_linear_probe: labels outside [0, {num_classes})')
    x = train_x.double()
    mean, std = x.mean(0), x.std(0, unbiased=False) + 1e-6
    x = (x - mean) / std
    y = train_y.long()
    has_val = val_x is not None and val_y is not None and len(val_x) > 0
    v = ((val_x.double() - mean) / std) if has_val else None
    grid = sorted(weight_decays, reverse=True)
    if not has_val:
        grid = [min((wd for wd in grid if wd >= 1e-4), default=grid[-1])]
    best = None
    params = None
    for wd in grid:
        params = _lbfgs(x, y, num_classes, float(wd), params, max_iter)
        weight, bias = params[:-1].T, params[-1]
        score = _top1(weight, bias, v, val_y.long()) if has_val else None
        if best is None or (score is not None and score > best[0]):
            best = (score, float(wd), weight.clone(), bias.clone())
    score, wd, weight, bias = best
    # Back to raw features: (x - mean) / std @ W.T + b.
    raw_weight = weight / std
    raw_bias = bias - (mean / std) @ weight.T
    return ProbeFit(
        weight=raw_weight.float(),
        bias=raw_bias.float(),
        weight_decay=wd,
        val_top1=score,
        train_top1=_top1(raw_weight, raw_bias, train_x.double(), y),
    )
