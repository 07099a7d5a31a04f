"""Capture the outputs of named layers with forward hooks that are removed afterwards."""

import contextlib
import math
from typing import Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.utils import apply_to
from torch import nn

from mmtl.models.backbone_layout import NORM_TYPES, backbone_blocks, backbone_items
from mmtl.utils.modules import UnknownModuleError, evaluation_mode, find_submodules


class UnknownLayerError(UnknownModuleError):
    """A layer name is not a module of the model; the message lists the closest names."""


def resolve_layers(model: nn.Module, layer_names: Sequence[str]) -> Dict[str, nn.Module]:
    """The modules of dotted ``layer_names`` (``'backbone.layer4'``), in the order given.

    Raises:
        UnknownLayerError: A name is not a module of the model (closest names listed).
    """
    return find_submodules(model, layer_names, label='layer', error=UnknownLayerError)


@contextlib.contextmanager
def capture_features(model: nn.Module, layer_names: Sequence[str]) -> Iterator[Dict[str, object]]:
    """Record what the named layers output while the block runs.

    Args:
        model (nn.Module): The model.
        layer_names (Sequence[str]): Dotted module names, e.g. ``backbone.layer1``.

    Yields:
        dict: Layer name -> its latest output (detached; a tuple stays a tuple).

    Raises:
        UnknownLayerError: A name is not a module of the model (closest names listed).
    """
    modules = resolve_layers(model, layer_names)
    features: Dict[str, object] = {}
    handles: List[torch.utils.hooks.RemovableHandle] = []

    def make_hook(name: str):
        return lambda module, args, output: features.__setitem__(
            name, apply_to(output, torch.is_tensor, torch.Tensor.detach)
        )

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield features
    finally:
        for handle in handles:
            handle.remove()


def tensors_in(output) -> Iterator[torch.Tensor]:
    """The tensors in a layer output (a tensor, or lists/tuples/dicts holding some)."""
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, (dict, list, tuple)):
        for item in output.values() if isinstance(output, dict) else output:
            yield from tensors_in(item)


def as_tensor(output) -> torch.Tensor:
    """The last tensor of a layer output (a Swin stage's ``(tokens, (h, w))``: the tokens)."""
    tensors = list(tensors_in(output))
    if not tensors:
        raise TypeError(f'layer output holds no tensor: {type(output).__name__}')
    return tensors[-1]


def extra_token_count(num_tokens: int, max_extra: int = 8) -> Optional[int]:
    """How many leading tokens of a sequence are not patches (class, distillation, registers),
    assuming the patches form a square grid.

    Args:
        num_tokens (int): Sequence length.
        max_extra (int): Most leading tokens accepted. Defaults to 8.

    Returns:
        int | None: The count, or None when no square grid fits.
    """
    side = math.isqrt(num_tokens)
    extra = num_tokens - side * side
    return extra if side > 0 and extra <= max_extra else None


def token_grid(tokens: torch.Tensor, num_extra_tokens: Optional[int] = None) -> torch.Tensor:
    """A transformer's ``N x L x C`` token sequence as an ``N x C x h x w`` map.

    Args:
        tokens (torch.Tensor): ``N x L x C`` tokens, or an ``N x C x h x w`` map (returned as
            it is).
        num_extra_tokens (int, optional): Leading tokens that are not patches. Defaults to
            None: inferred (see :func:`extra_token_count`).

    Returns:
        torch.Tensor: The patch tokens laid out on their square grid.

    Raises:
        ValueError: The patch tokens do not form a square grid.
    """
    if tokens.dim() == 4:
        return tokens
    if tokens.dim() != 3:
        shape = tuple(tokens.shape)
        raise ValueError(f'expected N x L x C tokens or an N x C x H x W map, got {shape}')
    if num_extra_tokens is None:
        num_extra_tokens = extra_token_count(tokens.shape[1])
    patches = tokens[:, num_extra_tokens or 0 :, :]
    side = math.isqrt(patches.shape[1])
    if num_extra_tokens is None or side * side != patches.shape[1]:
        raise ValueError(
            f'{tokens.shape[1]} tokens after {num_extra_tokens} extra ones do not form a '
            'square grid of patches'
        )
    return patches.reshape(patches.shape[0], side, side, -1).permute(0, 3, 1, 2)


def spatial_output(output) -> Optional[torch.Tensor]:
    """A layer output as an ``N x C x h x w`` map (token sequences laid out on their grid),
    or None for pooled vectors."""
    tensors = list(tensors_in(output))
    tensor = tensors[-1] if tensors else None
    if tensor is None or tensor.dim() == 4:
        return tensor
    if tensor.dim() == 3 and extra_token_count(tensor.shape[1]) is not None:
        return token_grid(tensor)
    return None


def backbone_block_names(model: nn.Module) -> List[str]:
    """The backbone's blocks as dotted names (``backbone.layers.3``), normalisation left out."""
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise ValueError('the model has no backbone')
    return [
        f'backbone.{name}'
        for name, block in backbone_blocks(backbone)
        if not isinstance(block, NORM_TYPES)
    ]


def block_outputs(model: nn.Module, inputs: Optional[torch.Tensor] = None) -> Dict[str, object]:
    """The outputs of :func:`backbone_block_names` for ``inputs`` in eval mode, in the order a
    forward pass runs them (ConvNeXt registers its downsampling layers before its stages).

    Args:
        model (nn.Module): A classifier with a ``backbone``.
        inputs (torch.Tensor, optional): A network input. Defaults to None: one 224 x 224
            image of zeros.

    Returns:
        dict: Dotted block name -> its output; blocks that did not run are left out.
    """
    names = backbone_block_names(model)
    if inputs is None:
        inputs = torch.zeros(1, 3, 224, 224, device=next(model.parameters()).device)
    with capture_features(model, names) as outputs, evaluation_mode(model):
        model(inputs)
    return outputs


def block_groups(model: nn.Module, inputs: Optional[torch.Tensor] = None) -> List[List[str]]:
    """Per block of :func:`block_outputs`, the backbone modules that belong to it: a
    non-block joins the block registered before it (ResNet's ``conv1, bn1, relu, maxpool``).

    Args:
        model (nn.Module): A classifier with a ``backbone``.
        inputs (torch.Tensor, optional): See :func:`block_outputs`.

    Returns:
        list[list[str]]: Dotted names, one list per block, input to output.
    """
    blocks = list(block_outputs(model, inputs))
    groups = {name: [name] for name in blocks}
    owner = None
    for item_name, _ in backbone_items(model.backbone):
        dotted = f'backbone.{item_name}'
        if dotted in groups:
            owner = dotted
        elif owner is not None:
            groups[owner].append(dotted)
        elif blocks:
            groups[blocks[0]].insert(0, dotted)
    return [groups[name] for name in blocks]


def pooled(output) -> torch.Tensor:
    """A layer output as one ``N x C`` vector per image (averaged over space or tokens)."""
    tensor = as_tensor(output)
    if tensor.dim() == 4:
        return tensor.mean(dim=(2, 3))
    if tensor.dim() == 3:
        return tensor.mean(dim=1)
    return tensor.flatten(1)
