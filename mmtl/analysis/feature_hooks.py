"""Capture the outputs of named layers with forward hooks that are removed afterwards."""

import contextlib
from typing import Dict, Iterator, List, Sequence

import torch
from torch import nn

from mmtl.utils.modules import UnknownModuleError, find_submodules


class UnknownLayerError(UnknownModuleError):
    """A layer name is not a module of the model; the message lists the closest names."""


def _detach(output):
    if isinstance(output, torch.Tensor):
        return output.detach()
    if isinstance(output, (list, tuple)):
        return type(output)(_detach(item) for item in output)
    if isinstance(output, dict):
        return {key: _detach(value) for key, value in output.items()}
    return output


def resolve_layers(model: nn.Module, layer_names: Sequence[str]) -> Dict[str, nn.Module]:
    """Map dotted layer names to the model's modules.

    Args:
        model (nn.Module): The model.
        layer_names (Sequence[str]): Dotted module names such as ``'backbone.layer4'``.

    Returns:
        dict[str, nn.Module]: The modules, keyed by name, in the order given.

    Raises:
        UnknownLayerError: A name is not a module of the model (closest names listed).
    """
    return find_submodules(model, layer_names, label='layer', error=UnknownLayerError)


@contextlib.contextmanager
def capture_features(model: nn.Module, layer_names: Sequence[str]) -> Iterator[Dict[str, object]]:
    """Record what the named layers output while the block runs.

    Example::

        with capture_features(model, ['backbone.layer1']) as feats:
            model(inputs)
        feats['backbone.layer1'].shape

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
        def hook(module, args, output):
            features[name] = _detach(output)

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield features
    finally:
        for handle in handles:
            handle.remove()


def as_tensor(output) -> torch.Tensor:
    """The tensor of a layer output; for a tuple (backbone stages), its last tensor."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (list, tuple)) and output:
        return as_tensor(output[-1])
    raise TypeError(f'layer output holds no tensor: {type(output).__name__}')
