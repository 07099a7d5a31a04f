"""Property-based: random bytes and random image files thrown at the scan and the loader.

Each generated file is good by construction (a complete image PIL wrote in a readable format)
or bad by construction (random bytes, an empty file, a cut-off image, a GIF). The scan must
never raise, must classify each file as constructed, and a FolderDataset with the skip policy
must load exactly the good files as H x W x 3 uint8 arrays of the written size.
"""

import io
import os
import os.path as osp
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.datasets import FolderDataset
from mmtl.datasets.scan import check_image_file, scan_image_files

#: (format, extension, modes PIL writes in that format)
FORMATS = [
    ('JPEG', '.jpg', ['L', 'RGB', 'CMYK']),
    ('PNG', '.png', ['1', 'L', 'LA', 'P', 'RGB', 'RGBA', 'I;16']),
    ('BMP', '.bmp', ['1', 'L', 'P', 'RGB']),
    ('TIFF', '.tif', ['L', 'RGB', 'RGBA']),
    ('WEBP', '.webp', ['RGB', 'RGBA']),
    ('PPM', '.ppm', ['RGB']),
]


@st.composite
def good_images(draw):
    """``(bytes, extension, (height, width))`` of a complete random image."""
    fmt, ext, modes = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(modes))
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    if mode == 'I;16':
        image = Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)  # 16-bit grey
    elif mode != 'RGB':
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue(), ext, (height, width)


@st.composite
def bad_files(draw):
    """``(bytes, extension)`` of a file that is not a complete readable image."""
    kind = draw(st.sampled_from(['random', 'empty', 'truncated', 'gif', 'magic_then_junk']))
    ext = draw(st.sampled_from(['.jpg', '.png', '.bmp', '.tif', '.webp']))
    if kind == 'empty':
        return b'', ext
    if kind == 'random':
        return draw(st.binary(min_size=1, max_size=2048)), ext
    if kind == 'magic_then_junk':
        magic = draw(
            st.sampled_from([b'\xff\xd8\xff\xe0', b'\x89PNG\r\n\x1a\n', b'BM', b'II*\x00'])
        )
        return magic + draw(st.binary(min_size=0, max_size=256)), ext
    data, _, _ = draw(good_images())
    if kind == 'gif':
        buffer = io.BytesIO()
        Image.open(io.BytesIO(data)).convert('RGB').save(buffer, 'GIF')
        return buffer.getvalue(), ext
    # Cut off between 10 % and 80 % of the way: the pixel data is always incomplete.
    cut = draw(st.floats(0.1, 0.8))
    return data[: max(1, int(len(data) * cut))], ext


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    good=st.lists(good_images(), min_size=1, max_size=6),
    bad=st.lists(bad_files(), min_size=0, max_size=6),
)
def test_scan_classifies_random_files_and_good_ones_load_as_rgb(good, bad):
    with tempfile.TemporaryDirectory() as root:
        folder = osp.join(root, 'train', 'things')
        os.makedirs(folder)
        good_paths, bad_paths = {}, []
        for i, (data, ext, shape) in enumerate(good):
            path = osp.join(folder, f'good_{i}{ext}')
            with open(path, 'wb') as f:
                f.write(data)
            good_paths[path] = shape
        for i, (data, ext) in enumerate(bad):
            path = osp.join(folder, f'bad_{i}{ext}')
            with open(path, 'wb') as f:
                f.write(data)
            bad_paths.append(path)

        for path in good_paths:
            assert check_image_file(path) is None, path
        report = scan_image_files(sorted(good_paths) + bad_paths)
        assert report.bad_paths == bad_paths
        assert all(isinstance(reason, str) and reason for _, reason in report.bad_files)

        dataset = FolderDataset(
            data_root=root,
            data_prefix='train',
            bad_file_policy='skip',
            pipeline=[dict(type='LoadImageFromFile')],
            test_mode=True,
            serialize_data=False,  # mmengine's serialisation runs gc.collect(): 0.7 s each
        )
        assert len(dataset) == len(good_paths)
        for index in range(len(dataset)):
            sample = dataset[index]
            image = sample['img']
            assert image.dtype == np.uint8
            assert image.shape == (*good_paths[sample['img_path']], 3)
