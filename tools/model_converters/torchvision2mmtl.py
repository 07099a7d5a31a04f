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
    from mmtl.models.converters.convert_file import converter_parser

    parser = converter_parser(
        __doc__.split('\n')[0],
        'torchvision checkpoint (.pth), e.g. resnet50-0676ba61.pth',
        TORCHVISION_CONVERTERS,
        'torchvision architecture of SRC (default: recognise it from its keys)',
    )
    return parser.parse_args(argv)


def unwrap_state_dict(checkpoint) -> Mapping:
    """The state dict inside ``checkpoint`` (a bare one, or under ``state_dict``/``model``)."""
    if isinstance(checkpoint, Mapping):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), Mapping):
                return checkpoint[key]
    return checkpoint


def load_state_dict(src: str) -> tuple:
    """``(src, state_dict)``: the file loaded with mmtl's safe loader, unwrapped."""
    from mmtl.utils import safe_torch_load

    return src, unwrap_state_dict(safe_torch_load(src))


def convert(src: str, dst: str, arch: str) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically."""
    from mmtl.models.converters import torchvision_to_mmtl_checkpoint
    from mmtl.models.converters.convert_file import convert_file

    convert_file(
        src,
        dst,
        arch,
        load_state_dict,
        torchvision_to_mmtl_checkpoint,
        lambda checkpoint: f'torchvision {checkpoint["meta"]["arch"]}',
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.utils.cli import run_with_clear_errors

    return run_with_clear_errors(lambda: convert(args.src, args.dst, args.arch))


if __name__ == '__main__':
    sys.exit(main())
