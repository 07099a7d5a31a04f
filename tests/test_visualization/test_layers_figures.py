"""One figure helper: mmtl draws every figure with ``mmtl.visualization.figure``."""

import ast
import glob
import os.path as osp

import numpy as np
from mmtl_testing import REPO_ROOT

from mmtl.visualization.figure import image_grid, save_figure

FIGURE_HELPERS = {'new_figure', 'save_figure', 'image_grid', 'grid_shape', 'render'}


def test_the_figure_helpers_are_defined_once():
    defined = {}
    for path in glob.glob(osp.join(REPO_ROOT, 'mmtl', '**', '*.py'), recursive=True):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in FIGURE_HELPERS:
                defined.setdefault(node.name, []).append(osp.relpath(path, REPO_ROOT))
    assert defined == {name: ['mmtl/visualization/figure.py'] for name in FIGURE_HELPERS}


def test_a_figure_saved_without_an_image_extension_is_a_png(tmp_path):
    figure = image_grid([np.zeros((8, 8), np.uint8)] * 3, ['a', 'b', 'c'], cell_px=64)
    image = save_figure(figure, str(tmp_path / 'grid'))
    with open(tmp_path / 'grid', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    rows, cols = 2, 2  # three panels in a near-square grid
    assert image.shape == (rows * 64, cols * 64, 3)
