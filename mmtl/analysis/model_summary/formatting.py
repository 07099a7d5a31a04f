"""Text forms of the summary: byte and count units, the layer table, the memory lines."""

from typing import Sequence

from .memory import MemoryEstimate
from .tracing import LayerInfo


def format_bytes(num: float) -> str:
    """``1536`` -> ``'1.50 KiB'``."""
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(num) < 1024 or unit == 'GiB':
            return f'{num:.2f} {unit}' if unit != 'B' else f'{int(num)} B'
        num /= 1024
    return f'{num:.2f} GiB'


def format_count(num: float) -> str:
    """``3504872`` -> ``'3.50 M'``."""
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(num) >= scale:
            return f'{num / scale:.2f} {unit}'
    return str(int(num))


def format_layer_table(layers: Sequence[LayerInfo]) -> str:
    """A fixed-width text table of leaf layers."""
    rows = [('name', 'type', 'output shape', 'params', 'trainable')]
    for layer in layers:
        shape = 'x'.join(str(d) for d in layer.output_shape) or '(not called)'
        rows.append((layer.name, layer.type, shape, f'{layer.params:,}', f'{layer.trainable:,}'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for idx, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 3 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append('  '.join(cells))
        if idx == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def format_memory(estimate: MemoryEstimate) -> str:
    """One line per component of a memory estimate, then the total."""
    parts = [
        ('parameters', estimate.params),
        ('gradients', estimate.grads),
        (f'optimizer state ({estimate.optimizer})', estimate.optimizer_state),
        ('activations (leaf outputs, lower bound)', estimate.activations),
        ('input batch', estimate.inputs),
    ]
    lines = [f'training memory estimate at batch {estimate.batch_size}:']
    lines += [f'  {name:<42}{format_bytes(value):>12}' for name, value in parts]
    lines.append(f'  {"total (a lower bound)":<42}{format_bytes(estimate.total):>12}')
    return '\n'.join(lines + [f'  note: {note}' for note in estimate.notes])
