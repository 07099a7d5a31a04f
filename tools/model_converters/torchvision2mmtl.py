"""Convert a torchvision ImageNet checkpoint to an mmtl (mmengine) checkpoint.

    python tools/model_converters/torchvision2mmtl.py resnet50-0676ba61.pth resnet50_mmtl.pth
    mim run mmtl torchvision2mmtl vgg16-397923af.pth vgg16_mmtl.pth --arch vgg16

The architecture is recognised from the file's keys and shapes unless ``--arch`` names it. The
output, ``{'state_dict': ..., 'meta': {...}}``, loads into the model of the matching base config
(``configs/_base_/models/<arch>.py``) with no missing or unexpected keys, and works as
``load_from``. (``load_from`` also takes the torchvision file itself and converts it on the
fly; converting once saves doing it at every start.)
"""

import argparse
import sys
from typing import Mapping


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.models.converters import TORCHVISION_CONVERTERS

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='torchvision checkpoint (.pth), e.g. resnet50-0676ba61.pth')
    parser.add_argument('dst', help='where to write the mmtl checkpoint')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=['auto', *TORCHVISION_CONVERTERS],
        help='torchvision architecture of SRC (default: recognise it from its keys)',
    )
    return parser.parse_args(argv)


def unwrap_state_dict(checkpoint) -> Mapping:
    """The state dict inside ``checkpoint`` (a bare one, or under ``state_dict``/``model``)."""
    if isinstance(checkpoint, Mapping):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), Mapping):
                return checkpoint[key]
    return checkpoint


def convert(src: str, dst: str, arch: str) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically."""
    import torch

    from mmtl.models.converters import torchvision_to_mmtl_checkpoint
    from mmtl.utils import atomic_open, safe_torch_load
    from mmtl.utils.cli import ConfigError

    state_dict = unwrap_state_dict(safe_torch_load(src))
    try:
        checkpoint = torchvision_to_mmtl_checkpoint(state_dict, arch, source=src)
    except ValueError as err:
        raise ConfigError(f'{src}: {err}') from None
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    meta = checkpoint['meta']
    print(
        f'converted torchvision {meta["arch"]} ({len(checkpoint["state_dict"])} tensors) from '
        f'{src}\nwrote {dst} (its model: configs/{meta["base_config"]})'
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.utils.cli import run_with_clear_errors

    return run_with_clear_errors(lambda: convert(args.src, args.dst, args.arch))


if __name__ == '__main__':
    sys.exit(main())
