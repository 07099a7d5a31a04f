"""dataset_stats writes a PNG with images per class and the image-size distribution."""

import importlib.util
import os.path as osp

import cv2
import numpy as np
from mmtl_testing import REPO_ROOT


def _tool():
    path = osp.join(REPO_ROOT, 'tools/analysis_tools/dataset_stats.py')
    spec = importlib.util.spec_from_file_location('mmtl_tool_dataset_stats_fig', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dataset_stats_writes_png(fruit_root, tmp_path, capsys):
    out_file = str(tmp_path / 'stats' / 'stats.png')
    assert _tool().main([fruit_root, '--out-file', out_file]) in (0, None)
    assert out_file in capsys.readouterr().out
    image = cv2.imread(out_file)
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    assert np.unique(image.reshape(-1, 3), axis=0).shape[0] > 3  # drawn, not blank


def test_plot_differs_with_counts():
    from mmtl.analysis.dataset_stats import plot_dataset_stats

    sizes = [(32, 32), (48, 40)]
    few = plot_dataset_stats({'train': {'a': 1, 'b': 9}}, sizes, None)
    many = plot_dataset_stats({'train': {'a': 9, 'b': 1}}, sizes, None)
    assert few.shape == many.shape and (few != many).any()
