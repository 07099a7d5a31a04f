"""Grad-CAM: where in the image a convolutional layer found evidence for a class.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
Localization" (ICCV 2017): weight each channel of the layer's activation by the mean gradient
of the class score over that channel, sum, and keep the positive part.
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .feature_hooks import capture_features, resolve_layers


def default_target_layer(model: nn.Module, inputs: torch.Tensor, min_side: int = 4) -> str:
    """The last backbone stage whose map is still at least ``min_side`` pixels a side.

    The deepest stage holds the most class-specific evidence, but on small inputs its map
    can shrink to 1x1, where a CAM shows nothing; then an earlier stage is taken.

    Args:
        model (nn.Module): A classifier with a ``backbone``.
        inputs (torch.Tensor): A network input, to find the stage output sizes.
        min_side (int): Smallest acceptable map side. Defaults to 4.

    Returns:
        str: Dotted layer name such as ``backbone.layer4``.
    """
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise ValueError('the model has no backbone; pass a target layer')
    names = [f'backbone.{name}' for name, _ in backbone.named_children()]
    with capture_features(model, names) as outputs, torch.no_grad():
        was_training = model.training
        model.eval()
        model(inputs)
        model.train(was_training)
    maps = [n for n in names if n in outputs and _last_tensor(outputs[n]).dim() == 4]
    if not maps:
        raise ValueError('no backbone stage outputs an NxCxHxW map; pass a target layer')
    large = [n for n in maps if min(_last_tensor(outputs[n]).shape[-2:]) >= min_side]
    return (large or maps)[-1]


def _last_tensor(output) -> torch.Tensor:
    while isinstance(output, (list, tuple)):
        output = output[-1]
    return output


def grad_cam(
    model: nn.Module,
    inputs: torch.Tensor,
    target_layer: str,
    class_index: Optional[int] = None,
) -> Tuple[torch.Tensor, int, torch.Tensor]:
    """Grad-CAM of one image.

    Args:
        model (nn.Module): Maps ``inputs`` to class scores (logits), ``1 x num_classes``.
        inputs (torch.Tensor): One image, ``1xCxHxW``, as the model expects it.
        target_layer (str): Dotted name of a layer with a ``NxKxhxw`` output.
        class_index (int, optional): Class to explain. Defaults to None: the predicted one.

    Returns:
        tuple: ``(cam, class_index, scores)``: the map ``HxW`` at input resolution scaled to
        [0, 1] (all zeros when no positive evidence), the class explained, and the softmax
        scores.
    """
    layer = resolve_layers(model, [target_layer])[target_layer]
    store: Dict[str, torch.Tensor] = {}

    def keep_activation(module, args, output):
        activation = _last_tensor(output)
        store['activation'] = activation
        activation.register_hook(lambda grad: store.__setitem__('gradient', grad))

    was_training = model.training
    handle = layer.register_forward_hook(keep_activation)
    try:
        model.eval()
        with torch.enable_grad():
            inputs = inputs.detach().clone().requires_grad_(True)  # a graph even if frozen
            logits = model(inputs)
            if class_index is None:
                class_index = int(logits[0].argmax())
            if not 0 <= class_index < logits.shape[1]:
                raise ValueError(f'class {class_index} out of range 0..{logits.shape[1] - 1}')
            model.zero_grad(set_to_none=True)
            logits[0, class_index].backward()
    finally:
        handle.remove()
        model.train(was_training)
    activation, gradient = store['activation'].detach(), store['gradient'].detach()
    if activation.dim() != 4:
        raise ValueError(
            f'target layer {target_layer!r} outputs shape {tuple(activation.shape)}; '
            'Grad-CAM needs a convolutional NxCxHxW output'
        )
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=inputs.shape[-2:], mode='bilinear', align_corners=False)[0, 0]
    peak = cam.max()
    cam = cam / peak if peak > 0 else torch.zeros_like(cam)
    return cam, class_index, logits.detach().softmax(dim=1)[0]
