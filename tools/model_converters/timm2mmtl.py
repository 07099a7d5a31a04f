"""Convert a timm ImageNet checkpoint to an mmtl (mmengine) checkpoint.

    python tools/model_converters/timm2mmtl.py hf-hub:timm/resnet50.a1_in1k resnet50_a1_mmtl.pth
    mim run mmtl timm2mmtl model.safetensors mobilenetv2_mmtl.pth [--arch mobilenet_v2]

SRC is a timm weight file (``.safetensors``, ``.bin``, ``.pth``) or an ``hf-hub:timm/<name>`` /
``timm://<name>`` reference resolved through the local Hugging Face cache. The architecture is
recognised from the keys and shapes unless ``--arch`` names it (torchvision's names, as for
torchvision2mmtl). The output, ``{'state_dict': ..., 'meta': {...}}``, loads into the model of the
matching base config with no missing or unexpected keys; its meta keeps the timm model name and
the ``pretrained_cfg`` (mean, std, input size) of the ``config.json`` beside SRC. (``load_from``
also takes SRC itself and converts it on the fly.)
"""

import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.models.converters import TIMM_MODEL_NAMES

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm weights (.safetensors/.bin/.pth) or hf-hub:timm/<name>')
    parser.add_argument('dst', help='where to write the mmtl checkpoint (.pth)')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=['auto', *TIMM_MODEL_NAMES],
        help='architecture of SRC, by its torchvision name (default: recognise it)',
    )
    return parser.parse_args(argv)


def load_state_dict(src: str) -> tuple:
    """``(path, state_dict)`` of SRC, loaded safely (hub references through the cache)."""
    from mmtl.utils import safe_torch_load
    from mmtl.utils.checkpoint_converters import split_checkpoint
    from mmtl.utils.cli import ConfigError
    from mmtl.utils.hf_hub import is_hub_ref, resolve_hub_checkpoint
    from mmtl.utils.safetensors_io import is_safetensors, load_safetensors

    path = resolve_hub_checkpoint(src) if is_hub_ref(src) else src
    checkpoint = load_safetensors(path) if is_safetensors(path) else safe_torch_load(path)
    parts = split_checkpoint(checkpoint)
    if parts is None:
        raise ConfigError(f'{src}: not a state dict of tensors')
    return path, parts[0]


def convert(src: str, dst: str, arch: str) -> None:
    """Load ``src`` safely, convert it and write ``dst`` atomically."""
    import torch

    from mmtl.models.converters import timm_to_mmtl_checkpoint
    from mmtl.utils import atomic_open
    from mmtl.utils.cli import ConfigError

    path, state_dict = load_state_dict(src)
    try:
        checkpoint = timm_to_mmtl_checkpoint(state_dict, arch, source=path)
    except ValueError as err:
        raise ConfigError(f'{src}: {err}') from None
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    meta = checkpoint['meta']
    print(
        f'converted timm {meta["timm_model"]} ({len(checkpoint["state_dict"])} tensors) from '
        f'{path}\nwrote {dst} (its model: configs/{meta["base_config"]})'
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.utils.cli import run_with_clear_errors

    return run_with_clear_errors(lambda: convert(args.src, args.dst, args.arch))


if __name__ == '__main__':
    sys.exit(main())
