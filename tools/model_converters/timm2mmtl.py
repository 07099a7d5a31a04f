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

from mmtl.utils.cli import exit_tool


def main(argv=None) -> int:
    from mmtl.models.converters import timm_to_mmtl_checkpoint
    from mmtl.models.converters.convert_file import main as convert_main

    return convert_main(
        argv,
        __doc__,
        'timm weights (.safetensors/.bin/.pth) or hf-hub:timm/<name>',
        timm_to_mmtl_checkpoint,
    )


if __name__ == '__main__':
    exit_tool(main)
