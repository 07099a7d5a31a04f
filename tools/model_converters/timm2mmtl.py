"""Convert a timm ImageNet checkpoint to an mmtl (mmengine) checkpoint.

    python tools/model_converters/timm2mmtl.py hf-hub:timm/resnet50.a1_in1k resnet50_a1_mmtl.pth
    mim run mmtl timm2mmtl model.safetensors convnext_small_mmtl.pth

SRC is a timm weight file (``.safetensors``, ``.bin``, ``.pth``) or an ``hf-hub:timm/<name>`` /
``timm://<name>`` reference resolved through the local Hugging Face cache. The architecture is
recognised from the keys and shapes. The output, ``{'state_dict': ..., 'meta': {...}}``, loads
with no missing or unexpected keys into the model the tool names; its meta keeps the timm model
name and the ``pretrained_cfg`` (mean, std, input size) of the ``config.json`` beside SRC.
(``load_from`` also takes SRC itself and converts it on the fly.)
"""

import argparse

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.models.converters.convert_file import converter_parser

    parser = converter_parser(
        __doc__.split('\n')[0], 'timm weights (.safetensors/.bin/.pth) or hf-hub:timm/<name>'
    )
    return parser.parse_args(argv)


def load_state_dict(src: str) -> tuple:
    """``(path, state_dict)`` of SRC, loaded safely (hub references through the cache)."""
    from mmtl.utils import safe_torch_load
    from mmtl.utils.checkpoint_converters import split_checkpoint
    from mmtl.utils.errors import ConfigError
    from mmtl.utils.hf_hub import hub_weights_path, is_hub_ref
    from mmtl.utils.safetensors_io import is_safetensors, load_safetensors

    path = hub_weights_path(src) if is_hub_ref(src) else src
    checkpoint = load_safetensors(path) if is_safetensors(path) else safe_torch_load(path)
    parts = split_checkpoint(checkpoint)
    if parts is None:
        raise ConfigError(f'{src}: not a state dict of tensors')
    return path, parts[0]


def convert(src: str, dst: str) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically."""
    from mmtl.models.converters import timm_to_mmtl_checkpoint
    from mmtl.models.converters.convert_file import convert_file

    convert_file(src, dst, load_state_dict, timm_to_mmtl_checkpoint)


def main(argv=None) -> int:
    args = parse_args(argv)
    convert(args.src, args.dst)
    return 0


if __name__ == '__main__':
    exit_tool(main)
