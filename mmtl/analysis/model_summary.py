"""What a model costs: parameters per layer, FLOPs (mmengine's ``get_model_complexity_info``),
and the memory needed to train it, from one forward pass of a random input in eval mode."""

import contextlib
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import psutil
import torch
from torch import nn

from mmtl.utils.modules import evaluation_mode

from .feature_hooks import tensors_in


def leaf_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Named modules without children."""
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def _model_device(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device('cpu'))


def random_input(model: nn.Module, input_shape: Sequence[int], batch_size: int = 1):
    """A standard-normal ``batch_size x C x H x W`` input on the model's device."""
    return torch.randn(batch_size, *input_shape, device=_model_device(model))


def _activation_bytes(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Bytes of the leaf-module outputs of one image that training keeps for the backward pass
    (from the input of the first trainable layer on, each storage once), by one forward pass."""
    # Outputs in call order, kept alive so that no storage is reused within the pass.
    calls: List[Tuple[bool, List[torch.Tensor]]] = []

    def hook(module, args, output):
        trains = any(p.requires_grad for p in module.parameters(recurse=False))
        calls.append((trains, list(tensors_in(output))))

    handles = [module.register_forward_hook(hook) for _, module in leaf_modules(model)]
    try:
        with evaluation_mode(model):
            model(random_input(model, input_shape))
    finally:
        for handle in handles:
            handle.remove()
    first_trainable = next((i for i, (trains, _) in enumerate(calls) if trains), len(calls))
    storages: Dict[int, int] = {}
    for _, tensors in calls[max(first_trainable - 1, 0) :]:
        for tensor in tensors:
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def count_params(model: nn.Module) -> Tuple[int, int]:
    """Total and trainable (``requires_grad``) parameter counts: ``(total, trainable)``."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@contextlib.contextmanager
def quiet_mmengine_logger(level: str = 'ERROR') -> Iterator[None]:
    """Hold back mmengine's log records below ``level`` while the block runs (the analyzers'
    per-operator warnings, the optimizer builder's line per parameter).

    Args:
        level (str): The lowest level still logged. Defaults to ``'ERROR'``.
    """
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def model_complexity(
    model: nn.Module,
    input_shape: Sequence[int],
    show_table: bool = False,
    show_arch: bool = False,
) -> Dict[str, object]:
    """Parameters, FLOPs (one multiply-add each, as fvcore) and activations of one image, by
    mmengine's ``get_model_complexity_info``, in eval mode.

    Args:
        model (nn.Module): The model; called as ``model(inputs)``.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        show_table (bool): Also build the per-module table. Defaults to False.
        show_arch (bool): Also build the annotated architecture. Defaults to False.

    Returns:
        dict: mmengine's result: ``flops``, ``params``, ``activations`` (ints), their
        ``*_str`` forms, ``out_table`` and ``out_arch`` (the texts, or ``''``).
    """
    from mmengine.analysis import get_model_complexity_info

    with evaluation_mode(model), quiet_mmengine_logger():
        return get_model_complexity_info(
            model,
            inputs=(random_input(model, input_shape),),
            show_table=show_table,
            show_arch=show_arch,
        )


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs (multiply-adds) of one image through ``model`` (see :func:`model_complexity`)."""
    return int(model_complexity(model, input_shape)['flops'])


#: Optimizer state per trainable parameter, in parameter-sized slots, by optimizer class name.
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
    """Training memory in bytes, by component; ``total`` is their sum, a lower bound
    (autograd also keeps intermediates of functional ops; the framework adds workspace)."""

    params: int
    grads: int
    optimizer_state: int
    activations: int
    inputs: int
    batch_size: int
    optimizer: str = ''

    @property
    def total(self) -> int:
        return self.params + self.grads + self.optimizer_state + self.activations + self.inputs


def estimate_training_memory(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_size: int,
    optimizer: Optional[torch.optim.Optimizer] = None,
    optimizer_type: str = 'SGD',
    momentum: float = 0.9,
) -> MemoryEstimate:
    """Estimate the memory one training step needs: params + grads + optimizer + activations
    (measured at batch 1, scaled by ``batch_size``).

    Args:
        model (nn.Module): The model.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
        batch_size (int): Images per training step (per process).
        optimizer (Optimizer, optional): The real optimizer; its parameter groups decide the
            state size. Defaults to None: use ``optimizer_type`` for all trainable params.
        optimizer_type (str): Class name when no optimizer is given. Defaults to ``'SGD'``.
        momentum (float): SGD/RMSprop momentum when no optimizer is given. Defaults to 0.9.

    Returns:
        MemoryEstimate: Bytes per component.

    Raises:
        KeyError: The optimizer class is not in :data:`OPTIMIZER_STATE_SLOTS`.
    """
    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    if optimizer is not None:
        optimizer_type = type(optimizer).__name__
        groups = optimizer.param_groups
    else:
        groups = [{'params': trainable, 'momentum': momentum}]
    if optimizer_type not in OPTIMIZER_STATE_SLOTS:
        raise KeyError(
            f'optimizer {optimizer_type} is not in OPTIMIZER_STATE_SLOTS; known: '
            f'{sorted(OPTIMIZER_STATE_SLOTS)}'
        )
    state_slots = OPTIMIZER_STATE_SLOTS[optimizer_type]
    slots = {id(p): state_slots(group) for group in groups for p in group['params']}
    element_size = params[0].element_size() if params else 4
    return MemoryEstimate(
        params=sum(p.numel() * p.element_size() for p in params),
        grads=sum(p.numel() * p.element_size() for p in trainable),
        optimizer_state=sum(p.numel() * p.element_size() * slots.get(id(p), 0) for p in trainable),
        activations=_activation_bytes(model, input_shape) * batch_size,
        inputs=batch_size * element_size * int(torch.Size(input_shape).numel()),
        batch_size=batch_size,
        optimizer=optimizer_type,
    )


def _peak_rss_growth(step: Callable[[], None]) -> int:
    """Bytes the resident memory rose by while ``step`` ran (sampled every millisecond)."""
    process = psutil.Process()
    start = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.001):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        step()
    finally:
        done.set()
        sampler.join()
    return max(0, max(peak, process.memory_info().rss) - start)


def measure_training_step(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    num_classes: int,
) -> Dict[str, object]:
    """Run one training step on random data and measure its peak memory: CUDA's
    ``max_memory_allocated``, or on the CPU the resident memory's growth plus the parameter
    bytes (comparable with :class:`MemoryEstimate`'s total).

    Args:
        model (nn.Module): The model; ``model(x)`` must return logits.
        input_shape (Sequence[int]): ``(C, H, W)``.
        batch_size (int): Images in the step.
        optimizer (Optimizer): Optimizer over the model's trainable parameters.
        num_classes (int): Classes of the random labels.

    Returns:
        dict: ``peak_bytes``, ``device`` and ``method`` (how it was measured).
    """
    device = _model_device(model)
    inputs = random_input(model, input_shape, batch_size)
    labels = torch.randint(0, num_classes, (batch_size,), device=device)
    was_training = model.training
    model.train()

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    try:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            step()
            torch.cuda.synchronize(device)
            peak = torch.cuda.max_memory_allocated(device)
            method = 'torch.cuda.max_memory_allocated'
            return {'peak_bytes': peak, 'device': str(device), 'method': method}
        param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        return {
            'peak_bytes': _peak_rss_growth(step) + param_bytes,
            'device': 'cpu',
            'method': 'peak RSS growth (psutil, sampled every ms) + parameter bytes',
        }
    finally:
        model.train(was_training)


def format_bytes(num: float) -> str:
    """``1536`` -> ``'1.50 KiB'``."""
    if abs(num) < 1024:
        return f'{int(num)} B'
    for unit in ('KiB', 'MiB', 'GiB'):
        num /= 1024
        if abs(num) < 1024 or unit == 'GiB':
            break
    return f'{num:.2f} {unit}'


def format_count(num: float) -> str:
    """``3504872`` -> ``'3.50 M'``."""
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(num) >= scale:
            return f'{num / scale:.2f} {unit}'
    return str(int(num))


def format_layer_types(model: nn.Module) -> str:
    """Leaf modules counted by class, most frequent first: ``'52 Conv2d, 52 BatchNorm2d'``."""
    counts = Counter(type(module).__name__ for _, module in leaf_modules(model))
    return ', '.join(f'{count} {name}' for name, count in counts.most_common())


def format_memory(estimate: MemoryEstimate) -> str:
    """One line per component of a memory estimate, then the total."""
    parts = [
        ('parameters', estimate.params),
        ('gradients', estimate.grads),
        (f'optimizer state ({estimate.optimizer})', estimate.optimizer_state),
        ('activations (leaf outputs, lower bound)', estimate.activations),
        ('input batch', estimate.inputs),
        ('total (a lower bound)', estimate.total),
    ]
    lines = [f'training memory estimate at batch {estimate.batch_size}:']
    return '\n'.join(lines + [f'  {name:<42}{format_bytes(value):>12}' for name, value in parts])
