"""What ``tools/model_converters/timm2mmtl.py`` and ``torchvision2mmtl.py`` share: the
arguments, and converting one weight file into an mmtl checkpoint written atomically."""

import argparse
from typing import Callable, Mapping, Optional, Tuple


def converter_parser(description: str, src_help: str) -> argparse.ArgumentParser:
    """Arguments ``SRC DST`` of a checkpoint converter tool."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='where to write the mmtl checkpoint (.pth)')
    return parser


def convert_file(
    src: str,
    dst: str,
    load: Callable[[str], Tuple[str, Mapping]],
    to_mmtl: Callable[[Mapping, Optional[str]], dict],
) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically; print what was done.

    Args:
        src (str): The weight file or reference given.
        dst (str): The checkpoint to write.
        load (Callable): ``src -> (resolved path, state dict)``, through the safe loader.
        to_mmtl (Callable): ``(state_dict, source) -> checkpoint``; raises ``ValueError`` when
            the weights are of no family that converts.

    Raises:
        ConfigError: The weights do not convert (one line naming ``src``).
    """
    import torch

    from mmtl.utils import atomic_open
    from mmtl.utils.errors import ConfigError

    path, state_dict = load(src)
    try:
        checkpoint = to_mmtl(state_dict, path)
    except ValueError as err:
        raise ConfigError(f'{src}: {err}') from None
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    meta = checkpoint['meta']
    name = meta.get('timm_model', meta['arch'])
    model = (
        f'configs/{meta["base_config"]}' if 'base_config' in meta else f'model = {meta["model"]}'
    )
    print(
        f'converted {meta["converted_from"]} {name} ({len(checkpoint["state_dict"])} tensors) '
        f'from {path}\nwrote {dst} (its model: {model})'
    )
