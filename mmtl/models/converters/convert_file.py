"""What ``tools/model_converters/timm2mmtl.py`` and ``torchvision2mmtl.py`` share: the
arguments, and converting one weight file into an mmtl checkpoint written atomically."""

import argparse
from typing import Callable, Iterable, Mapping, Tuple


def converter_parser(
    description: str, src_help: str, arch_names: Iterable[str], arch_help: str
) -> argparse.ArgumentParser:
    """Arguments ``SRC DST [--arch auto|NAME]`` of a checkpoint converter tool.

    Args:
        description (str): The tool's one-line description.
        src_help (str): Help of ``SRC``.
        arch_names (Iterable[str]): The architectures ``--arch`` accepts besides ``auto``.
        arch_help (str): Help of ``--arch``.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='where to write the mmtl checkpoint (.pth)')
    parser.add_argument('--arch', default='auto', choices=['auto', *arch_names], help=arch_help)
    return parser


def convert_file(
    src: str,
    dst: str,
    arch: str,
    load: Callable[[str], Tuple[str, Mapping]],
    to_mmtl: Callable[..., dict],
    describe: Callable[[dict], str],
) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically; print what was done.

    Args:
        src (str): The weight file or reference given.
        dst (str): The checkpoint to write.
        arch (str): ``'auto'`` or the architecture's name.
        load (Callable): ``src -> (resolved path, state dict)``, through the safe loader.
        to_mmtl (Callable): ``(state_dict, arch, source=path) -> checkpoint``; raises
            ``ValueError`` when the weights are not of a known architecture.
        describe (Callable): ``checkpoint -> 'torchvision resnet50'``-like words for the log.

    Raises:
        ConfigError: The weights do not convert (one line naming ``src``).
    """
    import torch

    from mmtl.utils import atomic_open
    from mmtl.utils.errors import ConfigError

    path, state_dict = load(src)
    try:
        checkpoint = to_mmtl(state_dict, arch, source=path)
    except ValueError as err:
        raise ConfigError(f'{src}: {err}') from None
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    print(
        f'converted {describe(checkpoint)} ({len(checkpoint["state_dict"])} tensors) from '
        f'{path}\nwrote {dst} (its model: configs/{checkpoint["meta"]["base_config"]})'
    )
