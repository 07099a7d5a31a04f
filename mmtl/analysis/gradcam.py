"""Class activation maps by pytorch-grad-cam, as mmpretrain's ``vis_cam.py`` draws them."""

from typing import Callable, Dict, Optional, Tuple

import torch
from torch import nn

from mmtl.utils.modules import evaluation_mode

from .feature_hooks import (
    as_tensor,
    backbone_block_names,
    block_outputs,
    capture_features,
    extra_token_count,
    resolve_layers,
    spatial_output,
    token_grid,
)


def default_target_layer(model: nn.Module, inputs: torch.Tensor, min_side: int = 4) -> str:
    """The last backbone block whose map (tokens on their patch grid) is at least
    ``min_side`` pixels a side; with a class token, the block before it (the head reads the
    class token, which leaves the last block's patch tokens without gradient).

    Args:
        model (nn.Module): A classifier with a ``backbone``.
        inputs (torch.Tensor): A network input, to find the block output sizes.
        min_side (int): Smallest acceptable map side. Defaults to 4.

    Returns:
        str: Dotted layer name such as ``backbone.layer4`` or ``backbone.layers.10``.
    """
    outputs = block_outputs(model, inputs)
    maps = {n: spatial_output(outputs[n]) for n in backbone_block_names(model) if n in outputs}
    order = [n for n, m in maps.items() if m is not None]
    if not order:
        raise ValueError('no backbone block outputs a spatial map; pass a target layer')
    large = [n for n in order if min(maps[n].shape[-2:]) >= min_side]
    chosen = (large or order)[-1]
    tokens = as_tensor(outputs[chosen])
    if tokens.dim() == 3 and extra_token_count(tokens.shape[1]) and order.index(chosen) > 0:
        chosen = order[order.index(chosen) - 1]
    return chosen


#: ``--method`` names -> (pytorch-grad-cam class, display name).
CAM_METHODS: Dict[str, Tuple[str, str]] = {
    'gradcam': ('GradCAM', 'Grad-CAM'),
    'gradcam++': ('GradCAMPlusPlus', 'Grad-CAM++'),
    'scorecam': ('ScoreCAM', 'Score-CAM'),
    'eigencam': ('EigenCAM', 'Eigen-CAM'),
    'eigengradcam': ('EigenGradCAM', 'EigenGrad-CAM'),
    'layercam': ('LayerCAM', 'Layer-CAM'),
    'xgradcam': ('XGradCAM', 'XGrad-CAM'),
}


def vit_reshape_transform(
    num_extra_tokens: Optional[int] = 1,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A reshape for ViT-like layers: ``N x (extra + h*w) x C`` tokens -> ``N x C x h x w``.

    Args:
        num_extra_tokens (int, optional): Leading tokens that are not patches (the class
            token). Defaults to 1; None infers it from the token count.

    Returns:
        Callable: The transform pytorch-grad-cam applies to the layer's output.
    """
    return lambda tokens: token_grid(as_tensor(tokens), num_extra_tokens)


def tensor_output_layer(model: nn.Module, name: str, inputs: torch.Tensor) -> str:
    """``name``, or, for a layer that returns a tuple (a Swin stage), its shallowest sub-module
    that outputs the tuple's tensor (pytorch-grad-cam hooks tensors only).

    Raises:
        UnknownLayerError: ``name`` is not a module of the model (closest names listed).
    """
    module = resolve_layers(model, [name])[name]
    subs = [f'{name}.{sub}' for sub, _ in module.named_modules() if sub]
    with capture_features(model, [name, *subs]) as outputs, torch.no_grad():
        model(inputs)
    if isinstance(outputs.get(name), torch.Tensor):
        return name
    target = as_tensor(outputs[name])
    for sub in subs:
        out = outputs.get(sub)
        if isinstance(out, torch.Tensor) and out.data_ptr() == target.data_ptr():
            return sub
    return name


def class_activation_map(
    model: nn.Module,
    inputs: torch.Tensor,
    target_layers,
    class_index: Optional[int] = None,
    method: str = 'gradcam',
    aug_smooth: bool = False,
    eigen_smooth: bool = False,
    reshape_transform: Optional[Callable] = None,
) -> Tuple[torch.Tensor, int, torch.Tensor]:
    """A class activation map of one image by one of :data:`CAM_METHODS`.

    Args:
        model (nn.Module): Maps ``inputs`` to class scores (logits), ``1 x num_classes``.
        inputs (torch.Tensor): One image, ``1xCxHxW``, as the model expects it.
        target_layers (str | Sequence[str]): Dotted layer name(s); the maps of several layers
            are averaged.
        class_index (int, optional): Class to explain. Defaults to None: the predicted one.
        method (str): A key of :data:`CAM_METHODS`. Defaults to ``'gradcam'``.
        aug_smooth (bool): Average over flipped/scaled copies (test-time augmentation).
        eigen_smooth (bool): Keep the first principal component of the weighted maps.
        reshape_transform (Callable, optional): Turns a layer output into ``NxCxhxw``.
            Defaults to None: maps as they are, transformer tokens on their patch grid
            (:func:`vit_reshape_transform` with the class tokens inferred).

    Returns:
        tuple: ``(cam, class_index, scores)``: the ``HxW`` map at input resolution in
        [0, 1] with its peak at 1 (zeros without positive evidence), the class explained,
        and the softmax scores.
    """
    # Imported here: pytorch-grad-cam pulls in cv2, scipy and scikit-learn.
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    names = [target_layers] if isinstance(target_layers, str) else list(target_layers)
    with evaluation_mode(model):
        names = [tensor_output_layer(model, name, inputs) for name in names]
        scores = model(inputs).softmax(dim=1)[0]
        class_index = int(scores.argmax()) if class_index is None else class_index
        cam_class = getattr(pytorch_grad_cam, CAM_METHODS[method][0])
        with (
            torch.enable_grad(),
            cam_class(
                model=model,
                target_layers=[model.get_submodule(name) for name in names],
                reshape_transform=reshape_transform or vit_reshape_transform(None),
            ) as cam,
        ):
            # A graph through frozen layers too: the input asks for gradients.
            image = inputs.detach().clone().requires_grad_(True)
            maps = cam(
                input_tensor=image,
                targets=[ClassifierOutputTarget(class_index)],
                aug_smooth=aug_smooth,
                eigen_smooth=eigen_smooth,
            )
    # The library divides by (1e-7 + peak), which leaves the peak short of 1.
    heat = torch.from_numpy(maps[0]).float().clamp(min=0)
    peak = heat.max()
    heat = heat / peak if peak > 0 else torch.zeros_like(heat)
    return heat, class_index, scores.detach()
