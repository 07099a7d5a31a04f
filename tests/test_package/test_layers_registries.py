"""mmtl's own tables are mmengine ``Registry`` nodes in ``mmtl.registry``."""

import importlib.util
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import Registry

from mmtl.datasets.transforms import image_io
from mmtl.registry import MODE_CONVERTERS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGE_IO = osp.join(REPO_ROOT, 'mmtl', 'datasets', 'transforms', 'image_io.py')


def test_mode_converters_are_the_mmtl_registry():
    assert isinstance(MODE_CONVERTERS, Registry) and MODE_CONVERTERS.scope == 'mmtl'
    assert image_io.MODE_CONVERTERS is MODE_CONVERTERS
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

    MODE_CONVERTERS.register_module(name='XYZ-test', module=convert)
    try:
        out = image_io.pil_to_bgr(img)
    finally:
        MODE_CONVERTERS.module_dict.pop('XYZ-test')
    assert out.tolist() == [[[3, 2, 1]] * 3] * 2  # RGB -> BGR


def test_image_io_loaded_by_path_keeps_a_plain_table_of_the_same_converters():
    """Loaded by path (the ONNX runner) it uses no registry; that it then imports nothing of
    mmtl, mmengine or torch is test_decode_path's ONNX-runner test (it decodes an RGBA)."""
    spec = importlib.util.spec_from_file_location('standalone_io', IMAGE_IO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not isinstance(module.MODE_CONVERTERS, Registry)
    assert sorted(module.MODE_CONVERTERS.module_dict) == sorted(MODE_CONVERTERS.module_dict)
    with pytest.raises(KeyError, match='RGB is already registered'):
        module.register_mode('RGB')(lambda img, background: img)
    with pytest.raises(KeyError, match='RGB is already registered'):
        image_io.register_mode('RGB')(lambda img, background: img)
