"""Tracing a model: its leaf modules and one forward pass with hooks on each."""

import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn


@dataclass
class LayerInfo:
    """One leaf module of a model.

    Attributes:
        name (str): Dotted module name, e.g. ``backbone.conv1.conv``.
        type (str): Class name of the module.
        output_shape (tuple): Shape of its (first) output tensor; empty if never called.
        params (int): Parameters owned by the module itself.
        trainable (int): Of those, the ones with ``requires_grad``.
    """

    name: str
    type: str
    output_shape: Tuple[int, ...]
    params: int
    trainable: int


def _first_tensor(output) -> Optional[torch.Tensor]:
    """The first tensor in a module output (a tensor, or a tuple/list/dict holding some)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        for item in output:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _all_tensors(output) -> Iterator[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, dict):
        for item in output.values():
            yield from _all_tensors(item)
    elif isinstance(output, (list, tuple)):
        for item in output:
            yield from _all_tensors(item)


def leaf_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Named modules without children (the layers that do the work)."""
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode without gradients, and restore each module's mode after."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, training in modes.items():
            module.training = training


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device('cpu')


def random_input(model: nn.Module, input_shape: Sequence[int], batch_size: int = 1):
    """A standard-normal ``batch_size x C x H x W`` input on the model's device."""
    return torch.randn(batch_size, *input_shape, device=_model_device(model))


def trace_layers(
    model: nn.Module, input_shape: Sequence[int], batch_size: int = 1
) -> Tuple[List[LayerInfo], int]:
    """Run one forward pass and describe every leaf module.

    Args:
        model (nn.Module): The model; called as ``model(inputs)``.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        batch_size (int): Images in the pass. Defaults to 1.

    Returns:
        tuple: ``(layers, activation_bytes)``: a :class:`LayerInfo` per leaf module in
        definition order, and the bytes of the leaf outputs that training keeps for the
        backward pass (from the first layer with trainable parameters on, in call order;
        each storage counted once).
    """
    leaves = leaf_modules(model)
    shapes: Dict[str, Tuple[int, ...]] = {}
    # Outputs in call order, with whether the module trains. The tensors are kept alive
    # so that the allocator cannot reuse a storage within the pass.
    calls: List[Tuple[bool, List[torch.Tensor]]] = []

    def make_hook(name: str):
        def hook(module, args, output):
            first = _first_tensor(output)
            if first is not None and name not in shapes:
                shapes[name] = tuple(first.shape)
            trains = any(p.requires_grad for p in module.parameters(recurse=False))
            calls.append((trains, list(_all_tensors(output))))

        return hook

    handles = [module.register_forward_hook(make_hook(name)) for name, module in leaves]
    try:
        with evaluation_mode(model):
            model(random_input(model, input_shape, batch_size))
    finally:
        for handle in handles:
            handle.remove()
    # Autograd keeps activations only from the input of the first trainable layer on.
    first_trainable = next((i for i, (trains, _) in enumerate(calls) if trains), len(calls))
    storages: Dict[int, int] = {}
    for _, tensors in calls[max(first_trainable - 1, 0) :]:
        for tensor in tensors:
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    layers = []
    for name, module in leaves:
        own = list(module.parameters(recurse=False))
        layers.append(
            LayerInfo(
                name=name,
                type=type(module).__name__,
                output_shape=shapes.get(name, ()),
                params=sum(p.numel() for p in own),
                trainable=sum(p.numel() for p in own if p.requires_grad),
            )
        )
    return layers, sum(storages.values())
