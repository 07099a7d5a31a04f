"""Measured peak memory (RSS) of one real training step."""

import resource
import sys
from typing import Dict, Sequence

import torch
from torch import nn

from .tracing import _model_device, random_input


def _current_rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process (``VmHWM``), in bytes."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == 'darwin' else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5); False where refused."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def measure_training_step(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    num_classes: int,
) -> Dict[str, object]:
    """Run one real training step on random data and measure its peak memory.

    On CUDA: ``torch.cuda.max_memory_allocated`` over the step, which includes the
    parameters already on the GPU. On the CPU: the growth of the process's peak resident
    memory over the step (grads, optimizer state, activations, workspace), to which the
    parameter bytes are added so that it compares with :class:`MemoryEstimate`'s total.

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
        loss = nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    try:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            step()
            torch.cuda.synchronize(device)
            return {
                'peak_bytes': torch.cuda.max_memory_allocated(device),
                'device': str(device),
                'method': 'torch.cuda.max_memory_allocated',
            }
        param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        reset = _reset_peak_rss()
        before = _current_rss_bytes() if reset else _peak_rss_bytes()
        step()
        growth = max(0, _peak_rss_bytes() - before)
        method = 'peak RSS growth (VmHWM) + parameter bytes'
        if not reset:
            method += '; peak mark not resettable, so earlier peaks may hide growth'
        return {'peak_bytes': growth + param_bytes, 'device': 'cpu', 'method': method}
    finally:
        model.train(was_training)
