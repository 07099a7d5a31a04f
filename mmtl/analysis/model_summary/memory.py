"""The memory a training step needs: an estimate from the model and the optimizer."""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import nn

from .tracing import trace_layers

#: Optimizer state per trainable parameter, in parameter-sized slots, by optimizer class name.
#: SGD keeps a momentum buffer only when momentum is used; Adam-like keep two moments.
OPTIMIZER_STATE_SLOTS: Dict[str, Callable[[dict], int]] = {
    'SGD': lambda group: 1 if group.get('momentum', 0) else 0,
    'Adam': lambda group: 3 if group.get('amsgrad') else 2,
    'AdamW': lambda group: 3 if group.get('amsgrad') else 2,
    'NAdam': lambda group: 2,
    'RAdam': lambda group: 2,
    'Adamax': lambda group: 2,
    'Adagrad': lambda group: 1,
    'Adadelta': lambda group: 2,
    'RMSprop': lambda group: 1 + bool(group.get('momentum', 0)) + bool(group.get('centered')),
    'Lamb': lambda group: 2,
    'LARS': lambda group: 1 if group.get('momentum', 0) else 0,
}


@dataclass
class MemoryEstimate:
    """Training memory in bytes, by component; ``total`` is their sum.

    The activation figure sums the output tensors of leaf modules from the first trainable
    layer on (each storage once), so it is a lower bound: autograd also keeps some inputs
    and intermediates of functional ops, and the framework adds workspace and allocator
    overhead.
    """

    params: int
    grads: int
    optimizer_state: int
    activations: int
    inputs: int
    batch_size: int
    optimizer: str = ''
    notes: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.params + self.grads + self.optimizer_state + self.activations + self.inputs


def optimizer_state_slots(optimizer: torch.optim.Optimizer) -> Dict[int, int]:
    """Slots of state per parameter (by ``id``) that ``optimizer`` will keep.

    Raises:
        KeyError: The optimizer class is not in :data:`OPTIMIZER_STATE_SLOTS`.
    """
    name = type(optimizer).__name__
    if name not in OPTIMIZER_STATE_SLOTS:
        raise KeyError(
            f'optimizer {name} is not in OPTIMIZER_STATE_SLOTS; known: '
            f'{sorted(OPTIMIZER_STATE_SLOTS)}'
        )
    slots = {}
    for group in optimizer.param_groups:
        for param in group['params']:
            slots[id(param)] = OPTIMIZER_STATE_SLOTS[name](group)
    return slots


def estimate_training_memory(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_size: int,
    optimizer: Optional[torch.optim.Optimizer] = None,
    optimizer_type: str = 'SGD',
    momentum: float = 0.9,
    activation_bytes_per_image: Optional[int] = None,
) -> MemoryEstimate:
    """Estimate the memory one training step needs: params + grads + optimizer + activations.

    Activations are measured at batch 1 (leaf-module outputs) and scaled by ``batch_size``;
    see :class:`MemoryEstimate` for why that is a lower bound.

    Args:
        model (nn.Module): The model.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        batch_size (int): Images per training step (per process).
        optimizer (Optimizer, optional): The real optimizer; its parameter groups decide the
            state size. Defaults to None: use ``optimizer_type`` for all trainable params.
        optimizer_type (str): Class name when no optimizer is given. Defaults to ``'SGD'``.
        momentum (float): SGD/RMSprop momentum when no optimizer is given. Defaults to 0.9.
        activation_bytes_per_image (int, optional): Known activation bytes for one image,
            to skip the forward pass. Defaults to None.

    Returns:
        MemoryEstimate: Bytes per component.
    """
    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    if optimizer is not None:
        slots = optimizer_state_slots(optimizer)
        optimizer_type = type(optimizer).__name__
    else:
        slot = OPTIMIZER_STATE_SLOTS[optimizer_type]({'momentum': momentum})
        slots = {id(p): slot for p in trainable}
    state = sum(p.numel() * p.element_size() * slots.get(id(p), 0) for p in trainable)
    if activation_bytes_per_image is None:
        _, activation_bytes_per_image = trace_layers(model, input_shape, 1)
    element_size = params[0].element_size() if params else 4
    input_bytes = batch_size * element_size
    for dim in input_shape:
        input_bytes *= dim
    return MemoryEstimate(
        params=sum(p.numel() * p.element_size() for p in params),
        grads=sum(p.numel() * p.element_size() for p in trainable),
        optimizer_state=state,
        activations=activation_bytes_per_image * batch_size,
        inputs=input_bytes,
        batch_size=batch_size,
        optimizer=optimizer_type,
    )
