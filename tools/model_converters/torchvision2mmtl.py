"""Convert a torchvision ImageNet checkpoint to an mmtl (mmengine) checkpoint.

    python tools/model_converters/torchvision2mmtl.py resnet50-0676ba61.pth resnet50_mmtl.pth
    mim run mmtl torchvision2mmtl swin_s-5e29d889.pth swin_s_mmtl.pth

The family and its depth/width are recognised from the file's keys and shapes. The output,
``{'state_dict': ..., 'meta': {...}}``, loads with no missing or unexpected keys into the model
the tool names (a base config, or a model dict for sizes mmtl ships no config for) and works as
``load_from``. (``load_from`` also takes the torchvision file itself and converts it on the
fly; converting once saves doing it at every start.)
"""

from mmtl.utils.cli import exit_tool


def main(argv=None) -> int:
    from mmtl.models.converters import torchvision_to_mmtl_checkpoint
    from mmtl.models.converters.convert_file import main as convert_main

    return convert_main(
        argv,
        __doc__,
        'torchvision checkpoint (.pth), e.g. resnet50-0676ba61.pth',
        torchvision_to_mmtl_checkpoint,
    )


if __name__ == '__main__':
    exit_tool(main)
