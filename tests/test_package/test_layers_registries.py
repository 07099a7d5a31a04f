"""The image decoder's colour-mode table is a plain dict, the same loaded by package or by path."""

import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmtl.datasets.transforms import image_io
from mmtl.datasets.transforms.image_io import MODE_CONVERTERS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGE_IO = osp.join(REPO_ROOT, 'mmtl', 'datasets', 'transforms', 'image_io.py')


def test_mode_converters_cover_the_common_modes():
    assert isinstance(MODE_CONVERTERS, dict)
    for mode in ('RGB', 'L', 'I;16', 'RGBA', 'P', 'CMYK'):
        assert mode in MODE_CONVERTERS, mode


class OddModeImage:
    """Stands for a Pillow image of a mode mmtl has no converter for."""

    mode = 'XYZ-test'


def test_a_mode_registered_from_outside_decodes():
    img = OddModeImage()
    with pytest.raises(ValueError, match="unsupported image mode 'XYZ-test'; supported: .*RGB"):
        image_io.pil_to_bgr(img)

    def convert(image, background):
        return np.full((2, 3, 3), (1, 2, 3), np.uint8)

    image_io.register_mode('XYZ-test')(convert)
    try:
        out = image_io.pil_to_bgr(img)
    finally:
        MODE_CONVERTERS.pop('XYZ-test')
    assert out.tolist() == [[[3, 2, 1]] * 3] * 2  # RGB -> BGR


def test_image_io_loaded_by_path_keeps_the_same_converters():
    """That it then imports nothing of mmtl, mmengine or torch is test_decode_path's
    ONNX-runner test (it decodes an RGBA)."""
    spec = importlib.util.spec_from_file_location('standalone_io', IMAGE_IO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.MODE_CONVERTERS) == sorted(MODE_CONVERTERS)
    with pytest.raises(KeyError, match='RGB is already registered'):
        module.register_mode('RGB')(lambda img, background: img)
    with pytest.raises(KeyError, match='RGB is already registered'):
        image_io.register_mode('RGB')(lambda img, background: img)
