"""Convert a torchvision ImageNet checkpoint to an mmtl (mmengine) checkpoint.

    python tools/model_converters/torchvision2mmtl.py resnet50-0676ba61.pth resnet50_mmtl.pth
    mim run mmtl torchvision2mmtl swin_s-5e29d889.pth swin_s_mmtl.pth

The family and its depth/width are recognised from the file's keys and shapes. The output,
``{'state_dict': ..., 'meta': {...}}``, loads with no missing or unexpected keys into the model
the tool names (a base config, or a model dict for sizes mmtl ships no config for) and works as
``load_from``. (``load_from`` also takes the torchvision file itself and converts it on the
fly; converting once saves doing it at every start.)
"""

import argparse
from typing import Mapping

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.models.converters.convert_file import converter_parser

    parser = converter_parser(
        __doc__.split('\n')[0], 'torchvision checkpoint (.pth), e.g. resnet50-0676ba61.pth'
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
    from mmtl.utils.checkpoint_converters import split_checkpoint
    from mmtl.utils.errors import ConfigError

    state = unwrap_state_dict(safe_torch_load(src))
    if split_checkpoint(state) is None:
        raise ConfigError(f'{src}: not a state dict of tensors')
    return src, state


def convert(src: str, dst: str) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically."""
    from mmtl.models.converters import torchvision_to_mmtl_checkpoint
    from mmtl.models.converters.convert_file import convert_file

    convert_file(src, dst, load_state_dict, torchvision_to_mmtl_checkpoint)


def main(argv=None) -> int:
    args = parse_args(argv)
    convert(args.src, args.dst)
    return 0


if __name__ == '__main__':
    exit_tool(main)
