"""What ``tools/model_converters/timm2mmtl.py`` and ``torchvision2mmtl.py`` share: reading one
weight file safely, converting it and writing an mmtl checkpoint atomically."""

import argparse
from typing import Callable, Mapping, Optional, Sequence, Tuple

import torch

from mmtl.utils import atomic_open, safe_torch_load
from mmtl.utils.checkpoint_converters import split_checkpoint
from mmtl.utils.errors import ConfigError
from mmtl.utils.hf_hub import hub_weights_path, is_hub_ref
from mmtl.utils.safetensors_io import is_safetensors, load_safetensors


def load_state_dict(src: str) -> Tuple[str, Mapping]:
    """The tensors of ``src``, read with mmtl's safe loaders.

    Args:
        src (str): A ``.safetensors``/``.pth``/``.bin`` file (a bare state dict, or one under
            ``state_dict`` or ``model``), or an ``hf-hub:``/``timm://`` reference resolved
            through the local Hugging Face cache.

    Returns:
        tuple: ``(path, state_dict)``, the path the reference resolved to.

    Raises:
        ConfigError: ``src`` holds no state dict of tensors.
    """
    path = hub_weights_path(src) if is_hub_ref(src) else src
    checkpoint = load_safetensors(path) if is_safetensors(path) else safe_torch_load(path)
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get('model'), Mapping):
        checkpoint = checkpoint['model']
    parts = split_checkpoint(checkpoint)
    if parts is None:
        raise ConfigError(f'{src}: not a state dict of tensors')
    return path, parts[0]


def main(
    argv: Optional[Sequence[str]],
    doc: str,
    src_help: str,
    to_mmtl: Callable[[Mapping, Optional[str]], dict],
) -> int:
    """A converter tool ``SRC DST``: load SRC safely, convert it, write DST atomically and
    print what was done.

    Args:
        argv (Sequence[str], optional): The arguments (None: the command line).
        doc (str): The tool's docstring; its first line describes the tool.
        src_help (str): The help of ``SRC``.
        to_mmtl (Callable): ``(state_dict, source) -> checkpoint``; raises ``ValueError`` when
            the weights are of no family that converts.

    Returns:
        int: 0.

    Raises:
        ConfigError: The weights do not convert (one line naming SRC).
    """
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='where to write the mmtl checkpoint (.pth)')
    args = parser.parse_args(argv)
    path, state_dict = load_state_dict(args.src)
    try:
        checkpoint = to_mmtl(state_dict, path)
    except ValueError as err:
        raise ConfigError(f'{args.src}: {err}') from None
    with atomic_open(args.dst, 'wb') as f:
        torch.save(checkpoint, f)
    meta = checkpoint['meta']
    name = meta.get('timm_model', meta['arch'])
    model = (
        f'configs/{meta["base_config"]}' if 'base_config' in meta else f'model = {meta["model"]}'
    )
    print(
        f'converted {meta["converted_from"]} {name} ({len(checkpoint["state_dict"])} tensors) '
        f'from {path}\nwrote {args.dst} (its model: {model})'
    )
    return 0
