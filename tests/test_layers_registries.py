"""mmtl's own tables are mmengine ``Registry`` nodes in ``mmtl.registry``."""

import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import Registry

from mmtl.datasets.transforms import image_io
from mmtl.registry import MODE_CONVERTERS

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
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


def test_image_io_loaded_by_path_has_the_same_converters_and_imports_nothing_of_mmtl():
    code = (
        'import importlib.util, json, sys\n'
        f'spec = importlib.util.spec_from_file_location("standalone_io", {IMAGE_IO!r})\n'
        'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n'
        'heavy = [n for n in ("mmengine", "mmpretrain", "mmtl", "torch") if n in sys.modules]\n'
        'print(json.dumps([heavy, sorted(mod.MODE_CONVERTERS.module_dict)]))\n'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    heavy, modes = json.loads(result.stdout.strip().splitlines()[-1])
    assert heavy == []
    assert modes == sorted(MODE_CONVERTERS.module_dict)


def test_plain_table_refuses_a_mode_twice_like_the_registry():
    spec = importlib.util.spec_from_file_location('standalone_io_twice', IMAGE_IO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not isinstance(module.MODE_CONVERTERS, Registry)
    with pytest.raises(KeyError, match='RGB is already registered'):
        module.register_mode('RGB')(lambda img, background: img)
    with pytest.raises(KeyError, match='RGB is already registered'):
        image_io.register_mode('RGB')(lambda img, background: img)
