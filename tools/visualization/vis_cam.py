"""Class activation map of one image, under OpenMMLab's tool path and argument order.

    python tools/visualization/vis_cam.py IMAGE CONFIG CKPT [--target-layers L ...]
        [--method gradcam|gradcam++|scorecam|eigencam|eigengradcam|layercam|xgradcam]
        [--target-category NAME_OR_INDEX] [--aug-smooth] [--eigen-smooth] [--vit-like]
        [--save-path cam.png] [--cfg-options KEY=VALUE ...]

The same tool as ``tools/visualizations/vis_cam.py`` (mmtl's order CONFIG CKPT IMAGE is
accepted too); see there for the options. Also run as ``mim run mmtl vis_cam ...``.
"""

import os.path as osp
import runpy

from mmtl.utils.cli import exit_tool

VIS_CAM = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'visualizations', 'vis_cam.py')


def main(argv=None) -> int:
    return runpy.run_path(VIS_CAM)['main'](argv)


if __name__ == '__main__':
    exit_tool(main)
