"""Weights as safetensors files: no pickle, so nothing in the file can run code.

The file holds a checkpoint's ``state_dict`` and, as JSON in its metadata, its
``meta.dataset_meta``; it is read back as an mmengine-style checkpoint dict.
"""

import json
from typing import Any, Dict, Optional

import torch

from .errors import NotACheckpointError, first_line
from .fileio import atomic_open

SAFETENSORS_SUFFIX = '.safetensors'
#: Metadata key holding ``meta.dataset_meta`` as JSON.
DATASET_META_KEY = 'dataset_meta'


def is_safetensors(path: str) -> bool:
    """Whether ``path`` names a safetensors file (by its extension)."""
    return str(path).lower().endswith(SAFETENSORS_SUFFIX)


def save_safetensors(checkpoint: Dict[str, Any], path: str) -> int:
    """Write the weights of ``checkpoint`` (and its class names) to ``path`` atomically.

    Args:
        checkpoint (dict): An mmengine checkpoint (``state_dict`` and optionally ``meta``) or
            a bare state dict.
        path (str): The ``.safetensors`` file to write.

    Returns:
        int: The number of tensors written.
    """
    from safetensors.torch import save

    state_dict = checkpoint.get('state_dict', checkpoint)
    # Own, contiguous storage per tensor: safetensors refuses shared or strided memory.
    tensors = {
        name: value.detach().cpu().contiguous().clone()
        for name, value in state_dict.items()
        if torch.is_tensor(value)
    }
    metadata = {'format': 'pt'}
    dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta')
    if dataset_meta:
        metadata[DATASET_META_KEY] = json.dumps(dataset_meta, default=list)
    with atomic_open(path, 'wb') as f:
        f.write(save(tensors, metadata=metadata))
    return len(tensors)


def load_safetensors(path: str, map_location: Optional[Any] = None) -> Dict[str, Any]:
    """Read a safetensors file as ``{'state_dict': ..., 'meta': {'dataset_meta': ...}}``.

    Args:
        path (str): The file.
        map_location: A device (or device name) to put the tensors on. Defaults to the CPU;
            mmengine's functions that take a callable here get the CPU as well.

    Returns:
        dict: An mmengine-style checkpoint.

    Raises:
        NotACheckpointError: The file is not a valid safetensors file (one line naming it).
    """
    from safetensors import SafetensorError, safe_open

    device = map_location if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        with safe_open(path, framework='pt', device=str(device)) as f:
            metadata = f.metadata() or {}
            state_dict = {name: f.get_tensor(name) for name in f.keys()}
        meta = {}
        if DATASET_META_KEY in metadata:
            meta['dataset_meta'] = json.loads(metadata[DATASET_META_KEY])
    except (SafetensorError, ValueError) as err:  # a damaged header, or metadata not JSON
        raise NotACheckpointError(
            f'not a checkpoint: {path} (not a valid safetensors file: {first_line(err)})'
        ) from None
    return {'state_dict': state_dict, 'meta': meta}
