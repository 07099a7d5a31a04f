"""mmtl's loading transforms: colour modes, EXIF orientation, reduced-scale JPEG decoding."""

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.datasets.transforms import RandomResizedCrop
from PIL import Image, ImageOps

import mmtl.datasets.scan as scan_module
from mmtl.config.resolve import auto_num_workers, resolve_dataloader_defaults
from mmtl.datasets.transforms import LoadAndRandomResizedCrop, LoadImage
from mmtl.datasets.transforms.image_io import (
    ImageDecodeError,
    ImageHeader,
    apply_orientation,
    jpeg_exif_orientation,
    jpeg_segments,
)
from mmtl.registry import TRANSFORMS

RED_BGR = (0, 0, 255)
JPEG_TOLERANCE = 6


def load(path, **kwargs):
    return LoadImage(**kwargs)(dict(img_path=str(path)))


def save(img: Image.Image, path, **kwargs) -> str:
    img.save(str(path), **kwargs)
    return str(path)


def assert_color(img: np.ndarray, bgr, tolerance: int = 0) -> None:
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    diff = np.abs(img.astype(int) - np.array(bgr)[None, None])
    assert diff.max() <= tolerance, (img.reshape(-1, 3)[:3], bgr)


def natural_photo(width: int, height: int) -> np.ndarray:
    """A real photo (scikit-learn's sample) resized to ``width x height``, RGB."""
    from sklearn.datasets import load_sample_image

    return cv2.resize(
        load_sample_image('china.jpg'), (width, height), interpolation=cv2.INTER_CUBIC
    )


# --------------------------------------------------------------------------------------
# Colour modes
# --------------------------------------------------------------------------------------
RED_IMAGES = {
    'RGB jpeg': lambda: (Image.new('RGB', (16, 12), (255, 0, 0)), 'jpg'),
    'RGB png': lambda: (Image.new('RGB', (16, 12), (255, 0, 0)), 'png'),
    'RGBA opaque': lambda: (Image.new('RGBA', (16, 12), (255, 0, 0, 255)), 'png'),
    'P': lambda: (Image.new('RGB', (16, 12), (255, 0, 0)).quantize(4), 'png'),
    'CMYK jpeg': lambda: (Image.new('CMYK', (16, 12), (0, 255, 255, 0)), 'jpg'),
    'CMYK tiff': lambda: (Image.new('CMYK', (16, 12), (0, 255, 255, 0)), 'tif'),
    'RGB webp': lambda: (Image.new('RGB', (16, 12), (255, 0, 0)), 'webp'),
}


@pytest.mark.parametrize('name', sorted(RED_IMAGES))
def test_red_image_of_any_mode_is_red_bgr(tmp_path, name):
    img, ext = RED_IMAGES[name]()
    path = save(img, tmp_path / f'red.{ext}')
    out = load(path)
    assert out['img'].shape == (12, 16, 3)
    assert_color(out['img'], RED_BGR, JPEG_TOLERANCE if ext in ('jpg', 'webp') else 0)
    assert out['ori_shape'] == (12, 16) and out['img_shape'] == (12, 16)


@pytest.mark.parametrize('ext', ['png', 'jpg'])
def test_grey_becomes_three_equal_channels(tmp_path, ext):
    path = save(Image.new('L', (10, 8), 100), tmp_path / f'grey.{ext}')
    assert_color(load(path)['img'], (100, 100, 100), 2 if ext == 'jpg' else 0)


def test_bilevel_image(tmp_path):
    img = Image.new('1', (8, 8), 0)
    img.paste(1, (0, 0, 4, 8))
    out = load(save(img, tmp_path / 'bits.png'))['img']
    assert_color(out[:, :4], (255, 255, 255))
    assert_color(out[:, 4:], (0, 0, 0))


def test_sixteen_bit_is_scaled_to_eight_bit(tmp_path):
    values = np.array([[0, 257 * 100, 32896, 65535]], dtype=np.uint16)
    path = save(Image.fromarray(values), tmp_path / 'deep.png')
    assert Image.open(path).mode.startswith('I')
    out = load(path)['img']
    assert out.shape == (1, 4, 3)
    assert out[0, :, 0].tolist() == [0, 100, 128, 255]
    assert (out == out[:, :, :1]).all()


def test_rgba_is_composited_onto_the_background(tmp_path):
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[:, :, 0] = 255  # red everywhere
    rgba[:, :2, 3] = 255  # opaque
    rgba[:, 2:4, 3] = 0  # transparent
    rgba[:, 4:, 3] = 128  # half
    path = save(Image.fromarray(rgba, 'RGBA'), tmp_path / 'alpha.png')
    out = load(path)['img']
    assert_color(out[:, :2], RED_BGR)
    assert_color(out[:, 2:4], (255, 255, 255))  # white by default
    assert_color(out[:, 4:], (127, 127, 255), 1)  # 0.5 * red + 0.5 * white
    black = load(path, background=(0, 0, 0))['img']
    assert_color(black[:, 2:4], (0, 0, 0))
    assert_color(black[:, 4:], (0, 0, 128), 1)


def test_la_is_composited_onto_the_background(tmp_path):
    la = Image.new('LA', (4, 4), (100, 255))
    la.paste((0, 0), (0, 0, 2, 4))  # left half transparent
    out = load(save(la, tmp_path / 'la.png'), background=(0, 0, 255))['img']
    assert_color(out[:, :2], (255, 0, 0))  # background (0, 0, 255) RGB is blue
    assert_color(out[:, 2:], (100, 100, 100))


def test_palette_with_transparent_index(tmp_path):
    img = Image.new('P', (4, 2), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (2, 0, 4, 2))
    path = save(img, tmp_path / 'pal.png', transparency=1)
    out = load(path, background=(0, 0, 0))['img']
    assert_color(out[:, :2], RED_BGR)
    assert_color(out[:, 2:], (0, 0, 0))  # the green index is transparent


def test_rgb_jpeg_matches_opencv_decoding(tmp_path):
    path = save(Image.fromarray(natural_photo(160, 120)), tmp_path / 'photo.jpg', quality=90)
    ours = load(path)['img']
    stock = LoadImageFromFile()(dict(img_path=path))['img']
    assert ours.shape == stock.shape
    assert np.abs(ours.astype(int) - stock).max() <= 2


def test_fused_crop_of_every_mode_is_three_channel(tmp_path):
    crop = LoadAndRandomResizedCrop(scale=(6, 8))
    for name, make in RED_IMAGES.items():
        img, ext = make()
        out = crop(dict(img_path=save(img, tmp_path / f'{name}.{ext}')))
        assert out['img'].shape == (6, 8, 3), name
        assert out['ori_shape'] == (12, 16), name


# --------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------
def marked_image(width: int = 40, height: int = 20) -> np.ndarray:
    """RGB black image with a red block in the stored top-left corner."""
    img = np.zeros((height, width, 3), np.uint8)
    block = int(0.3 * min(width, height))
    img[:block, :block] = (255, 0, 0)
    return img


def with_orientation(path, rgb: np.ndarray, orientation: int, fmt: str = 'jpg') -> str:
    img = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(img, path, exif=exif.tobytes(), **({'quality': 95} if fmt == 'jpg' else {}))


def test_exif_orientation_6_is_rotated_clockwise(tmp_path):
    path = with_orientation(tmp_path / 'rot6.jpg', marked_image(), 6)
    out = load(path)
    img = out['img']
    assert img.shape == (40, 20, 3)  # width and height swapped
    assert out['ori_shape'] == (40, 20)
    # Rotating 90 degrees clockwise moves the stored top-left corner to the top-right.
    assert_color(img[1:5, -5:-1], RED_BGR, JPEG_TOLERANCE)
    assert img[1:5, 1:5].max() <= JPEG_TOLERANCE


@pytest.mark.parametrize('orientation', range(1, 9))
def test_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = with_orientation(tmp_path / 'o.png', rgb, orientation, fmt='png')
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert('RGB'))[:, :, ::-1]
    assert np.array_equal(load(path)['img'], expected)
    assert np.array_equal(
        apply_orientation(rgb, orientation),
        np.asarray(ImageOps.exif_transpose(Image.open(path)).convert('RGB')),
    )


def test_fused_crop_applies_orientation(tmp_path):
    path = with_orientation(tmp_path / 'rot6.jpg', marked_image(400, 200), 6)
    # max_attempts=0: the central crop, here the whole (upright 200 x 400) image.
    crop = LoadAndRandomResizedCrop(scale=(40, 20), max_attempts=0, aspect_ratio_range=(0.1, 10))
    out = crop(dict(img_path=path))
    img = out['img']
    assert img.shape == (40, 20, 3) and out['ori_shape'] == (400, 200)
    assert_color(img[1:4, -4:-1], RED_BGR, 3 * JPEG_TOLERANCE)
    assert img[1:4, 1:4].max() <= 3 * JPEG_TOLERANCE


# --------------------------------------------------------------------------------------
# Reduced-scale decoding
# --------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def photo_jpeg(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('photo') / 'photo.jpg'
    return save(Image.fromarray(natural_photo(1600, 1200)), path, quality=92)


def test_min_size_picks_the_smallest_scale_that_keeps_it(photo_jpeg):
    header = ImageHeader(open(photo_jpeg, 'rb').read(), photo_jpeg)
    assert header.decode((224, 224)).shape == (300, 400, 3)  # 1/4; 1/8 would be 150 high
    assert header.decode((100, 100)).shape == (150, 200, 3)  # 1/8
    assert header.decode((1000, 10)).shape == (1200, 1600, 3)  # 1/2 is 800 wide: full
    assert load(photo_jpeg, min_size=256)['img'].shape == (300, 400, 3)
    assert load(photo_jpeg, min_size=600)['img'].shape == (600, 800, 3)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_reduced_decode_is_close_to_full_decode_and_resize(photo_jpeg):
    reduced = load(photo_jpeg, min_size=256)['img']  # decoded at 1/4
    full = load(photo_jpeg)['img']
    area = cv2.resize(full, reduced.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert mean_abs_diff(reduced, area) < 2.0
    assert np.abs(reduced.mean((0, 1)) - area.mean((0, 1))).max() < 1.0


def test_fused_crop_draws_the_same_box_as_random_resized_crop(photo_jpeg):
    """Same random draws, same box: the fused output is as close to the ideal crop (area
    average of the full-size box) as the stock full decode + bilinear resize, or closer."""
    full = LoadImageFromFile()(dict(img_path=photo_jpeg))['img']
    fused_errors, stock_errors = [], []
    for seed in range(4):
        np.random.seed(seed)
        stock_crop = RandomResizedCrop(scale=224)
        top, left, h, w = stock_crop.rand_crop_params(full)
        ideal = cv2.resize(
            full[top : top + h, left : left + w], (224, 224), interpolation=cv2.INTER_AREA
        )
        np.random.seed(seed)
        stock = stock_crop(dict(img=full.copy()))['img']
        np.random.seed(seed)
        fused = LoadAndRandomResizedCrop(scale=224)(dict(img_path=photo_jpeg))['img']
        assert fused.shape == (224, 224, 3)
        fused_errors.append(mean_abs_diff(fused, ideal))
        stock_errors.append(mean_abs_diff(stock, ideal))
        # Another box differs by far more on a real photo.
        np.random.seed(seed + 100)
        other = RandomResizedCrop(scale=224)(dict(img=full.copy()))['img']
        assert mean_abs_diff(other, ideal) > 3 * fused_errors[-1]
    assert max(fused_errors) < 4.0
    assert np.mean(fused_errors) <= np.mean(stock_errors)


# --------------------------------------------------------------------------------------
# Errors, registry, dataloader defaults
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'content', [b'', b'not an image at all', 'truncated'], ids=['empty', 'text', 'truncated']
)
def test_unreadable_file_error_names_it(tmp_path, photo_jpeg, content):
    if content == 'truncated':
        content = open(photo_jpeg, 'rb').read()[:5000]
    path = tmp_path / 'bad.jpg'
    path.write_bytes(content)
    for transform in (LoadImage(), LoadAndRandomResizedCrop(scale=32)):
        with pytest.raises(ImageDecodeError, match='bad.jpg'):
            transform(dict(img_path=str(path)))
        transform.ignore_errors = True
        assert transform(dict(img_path=str(path))) is None


def test_missing_file_error_names_it(tmp_path):
    with pytest.raises(ImageDecodeError, match='nowhere.jpg'):
        load(tmp_path / 'nowhere.jpg')


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='background'):
        LoadImage(background=(0, 0))
    with pytest.raises(ValueError, match='min_size'):
        LoadImage(min_size=0)


def test_transforms_build_from_the_mmtl_registry():
    with DefaultScope.overwrite_default_scope('mmtl'):
        fused = TRANSFORMS.build(dict(type='LoadAndRandomResizedCrop', scale=(32, 48)))
        loader = TRANSFORMS.build(dict(type='LoadImage', min_size=64))
    assert (fused.out_h, fused.out_w) == (32, 48)
    assert loader.min_size == 64


@pytest.mark.parametrize(
    'cpus, processes, expected', [(2, 1, 2), (16, 8, 2), (64, 1, 8), (4, 8, 1), (12, 2, 6)]
)
def test_auto_num_workers(cpus, processes, expected):
    assert auto_num_workers(cpus, processes) == expected


def test_auto_num_workers_reads_local_world_size(monkeypatch):
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '4')
    assert auto_num_workers(cpus=16) == 4


def test_resolve_dataloader_defaults_on_cpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(
        dict(
            train_dataloader=dict(num_workers='auto', pin_memory='auto', prefetch_factor=2),
            val_dataloader=dict(num_workers=0, prefetch_factor=4),
        )
    )
    resolve_dataloader_defaults(cfg)
    assert cfg.train_dataloader.num_workers == auto_num_workers()
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.train_dataloader.prefetch_factor == 2
    assert 'prefetch_factor' not in cfg.val_dataloader
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(train_dataloader=dict(pin_memory='auto')))
    resolve_dataloader_defaults(cfg)
    assert cfg.train_dataloader.pin_memory is True


@pytest.mark.parametrize('orientation', range(1, 9))
def test_jpeg_exif_reader_agrees_with_pillow(tmp_path, orientation):
    path = with_orientation(tmp_path / 'o.jpg', marked_image(), orientation)
    data = open(path, 'rb').read()
    assert Image.open(path).getexif()[0x0112] == orientation
    assert jpeg_exif_orientation(data) == orientation
    assert ImageHeader(data, path).fast_colorspace is not None  # simplejpeg decodes it


def test_tiff_orientation_big_endian_and_malformed():
    def jpeg(tiff: bytes) -> bytes:
        block = b'Exif\x00\x00' + tiff
        return b'\xff\xd8\xff\xe1' + (len(block) + 2).to_bytes(2, 'big') + block + b'\xff\xda'

    entry = (0x0112).to_bytes(2, 'big') + (3).to_bytes(2, 'big') + (1).to_bytes(4, 'big')
    tiff = b'MM\x00\x2a' + (8).to_bytes(4, 'big') + (1).to_bytes(2, 'big') + entry
    assert jpeg_exif_orientation(jpeg(tiff + (6).to_bytes(2, 'big') + b'\x00\x00')) == 6
    assert jpeg_exif_orientation(jpeg(tiff[:-4])) == 1  # truncated entry
    assert jpeg_exif_orientation(jpeg(b'XX' + tiff[2:])) == 1  # unknown byte order
    assert jpeg_exif_orientation(b'\xff\xd8\xff\xda') == 1  # pixels before any EXIF


def test_one_jpeg_segment_walker_stops_at_the_scan_and_the_data_end():
    data = b'\xff\xd8' + b'\xff\xe1\x00\x04ab' + b'\xff\xda\x00\x02' + b'\xff\xe2\x00\x04cd'
    assert list(jpeg_segments(data)) == [(0xE1, b'ab')]
    assert list(jpeg_segments(data[:7])) == [(0xE1, b'a')]  # payload cut at the data's end
    assert list(jpeg_segments(b'\xff\xd8\xff\xd0\x00\x04ab')) == []  # RST0 has no length
    assert scan_module.jpeg_segments is jpeg_segments  # the scan's fast check walks with it


def test_a_decode_errors_reason_is_its_first_line():
    error = ImageDecodeError('cannot decode image x.png: broken\ndetails', 'broken\ndetails')
    assert error.reason == 'broken' and ImageDecodeError('one\ntwo').reason == 'one'


def test_fast_decode_is_close_to_exact_decode(photo_jpeg):
    exact = load(photo_jpeg)['img']
    fast = load(photo_jpeg, fast_decode=True)['img']
    assert fast.shape == exact.shape
    assert 0 < mean_abs_diff(fast, exact) < 2.5


def test_fused_crop_at_full_scale_equals_the_stock_crop(tmp_path):
    """A small photo is decoded at full size: the same box, the same resize as stock."""
    path = save(Image.fromarray(natural_photo(200, 150)), tmp_path / 'small.jpg', quality=90)
    for seed in range(3):
        np.random.seed(seed)
        fused = LoadAndRandomResizedCrop(scale=128)(dict(img_path=path))['img']
        np.random.seed(seed)
        stock = RandomResizedCrop(scale=128)(LoadImageFromFile()(dict(img_path=path)))['img']
        assert np.abs(fused.astype(int) - stock).max() <= 3


def test_fused_flip_mirrors_the_same_crop(tmp_path):
    path = save(Image.fromarray(natural_photo(64, 48)), tmp_path / 'flip.jpg')
    np.random.seed(5)
    plain = LoadAndRandomResizedCrop(scale=16)(dict(img_path=path))
    np.random.seed(5)
    flipped = LoadAndRandomResizedCrop(scale=16, flip_prob=1.0)(dict(img_path=path))
    assert 'flip' not in plain
    assert flipped['flip'] is True and flipped['flip_direction'] == 'horizontal'
    assert np.array_equal(flipped['img'], plain['img'][:, ::-1])
    # A contiguous array, not a negative-stride view PackInputs must transpose element-wise.
    assert flipped['img'].flags.c_contiguous
    half = LoadAndRandomResizedCrop(scale=16, flip_prob=0.5)
    flips = [half(dict(img_path=path))['flip'] for _ in range(200)]
    assert 60 < sum(flips) < 140
    with pytest.raises(ValueError, match='flip_prob'):
        LoadAndRandomResizedCrop(scale=16, flip_prob=1.5)
