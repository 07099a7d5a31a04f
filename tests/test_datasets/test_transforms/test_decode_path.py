"""One decode path: training/testing loaders, inference_model and the ONNX runner agree.

Every colour mode a user's folder may hold goes through the test pipeline (what
``tools/test.py`` runs) and through ``inference_model``: the scores must be the same.
"""

import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmtl_testing import REPO_ROOT
from mmtl_testing.bad_images import corrupt_jpeg_inside, jpeg_bytes, photo, png_header_only
from PIL import Image

from mmtl.apis import inference_model, init_model
from mmtl.datasets.transforms import LoadImage
from mmtl.deployment.meta import build_deploy_meta
from mmtl.deployment.onnx_inferencer import load_image, preprocess_image
from mmtl.registry import DATASETS

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
CLASSES = ['zero', 'one', 'two']


def save(img: Image.Image, path: str, **kwargs) -> str:
    img.save(path, **kwargs)
    return path


def rgba_photo(seed=0):
    """A photo whose left third is fully transparent over *red* stored pixels, middle half."""
    rgb = photo((72, 48), seed)
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :24] = 0
    alpha[:, 24:48] = 128
    rgb[:, :24] = (255, 0, 0)
    return np.dstack([rgb, alpha])


def write_colour_modes(folder: str) -> dict:
    """One file per colour mode / kind; returns name -> path."""
    rgb = photo((72, 48), 1)
    rgba = rgba_photo()
    files = {}
    files['L.png'] = save(Image.fromarray(rgb).convert('L'), osp.join(folder, 'L.png'))
    files['LA.png'] = save(Image.fromarray(rgba).convert('LA'), osp.join(folder, 'LA.png'))
    files['RGBA.png'] = save(Image.fromarray(rgba), osp.join(folder, 'RGBA.png'))
    palette = Image.fromarray(rgb).quantize(16)
    palette.putpalette([0, 255, 0] + palette.getpalette()[3:])  # index 0: green ...
    pixels = np.asarray(palette).copy()
    pixels[:, :20] = 0
    palette = Image.fromarray(pixels, 'P')
    palette.putpalette([0, 255, 0] + Image.fromarray(rgb).quantize(16).getpalette()[3:])
    files['P.png'] = save(palette, osp.join(folder, 'P.png'), transparency=0)  # ... transparent
    sixteen = (np.asarray(Image.fromarray(rgb).convert('L'), np.uint16) * 257).astype(np.uint16)
    sixteen[:, ::2] += 200  # low bits that an 8-bit read drops differently
    files['I16.png'] = save(Image.fromarray(sixteen), osp.join(folder, 'I16.png'))
    files['CMYK.jpg'] = save(
        Image.fromarray(rgb).convert('CMYK'), osp.join(folder, 'CMYK.jpg'), quality=95
    )
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: rotate 90 degrees clockwise to view
    files['exif.jpg'] = save(
        Image.fromarray(rgb), osp.join(folder, 'exif.jpg'), quality=95, exif=exif.tobytes()
    )
    files['grey.jpg'] = save(
        Image.fromarray(rgb).convert('L'), osp.join(folder, 'grey.jpg'), quality=95
    )
    files['UPPER.JPG'] = save(Image.fromarray(rgb), osp.join(folder, 'UPPER.JPG'), quality=95)
    return files


@pytest.fixture(scope='module')
def colour_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('colour_modes')
    with open(root / 'classes.txt', 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    folder = root / 'test' / 'zero'
    folder.mkdir(parents=True)
    files = write_colour_modes(str(folder))
    for seed, name in enumerate(CLASSES[1:]):  # no class left empty
        (root / 'test' / name).mkdir()
        path = str(root / 'test' / name / f'{name}.jpg')
        files[f'{name}.jpg'] = save(Image.fromarray(photo((64, 64), seed + 5)), path)
    return str(root), files


@pytest.fixture(scope='module')
def model(colour_root):
    """Random weights, batch-norm statistics measured on the images (else every input gives
    the same scores and any decode would agree)."""
    torch.manual_seed(0)
    options = {'model.head.num_classes': 3, 'data_root': colour_root[0]}
    model = init_model(DIGITS_CONFIG, cfg_options=options)
    batch = pipeline_batch(model, colour_root[0])
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration pass
    model.train()
    with torch.no_grad():
        model(**model.data_preprocessor(batch, False), mode='tensor')
    model.eval()
    with torch.no_grad():
        scores = torch.stack([s.pred_score for s in model.test_step(batch)])
    assert scores.std(0).max() > 1e-3, 'scores that ignore the input would make parity trivial'
    return model


def pipeline_batch(model, root):
    """The test dataset over ``root/test``, as ``tools/test.py`` builds it, all samples."""
    cfg = model._config.test_dataloader.dataset.copy()
    cfg.update(data_root=root, data_prefix='test', class_folder=None, classes=CLASSES)
    with DefaultScope.overwrite_default_scope('mmtl'):
        dataset = DATASETS.build(cfg)
    return pseudo_collate([dataset[i] for i in range(len(dataset))])


def test_inference_scores_equal_the_test_pipeline_for_every_colour_mode(model, colour_root):
    root, files = colour_root
    batch = pipeline_batch(model, root)
    with torch.no_grad():
        tested = model.test_step(batch)
    by_path = {sample.img_path: sample.pred_score.numpy() for sample in tested}
    assert sorted(by_path) == sorted(files.values())  # .JPG upper case included

    results = inference_model(model, osp.join(root, 'test'))
    assert sorted(r['img_path'] for r in results) == sorted(files.values())
    for result in results:
        expected = by_path[result['img_path']]
        np.testing.assert_allclose(
            result['pred_scores'], expected, atol=1e-6, err_msg=result['img_path']
        )
    assert results.skipped == []


def test_transparent_pixels_are_white_whatever_colour_is_stored(colour_root):
    _, files = colour_root
    for name in ('RGBA.png', 'LA.png', 'P.png'):
        img = LoadImage()(dict(img_path=files[name]))['img']
        assert (img[:, :20] == 255).all(), name  # not the red / green stored underneath


def test_onnx_runner_preprocesses_every_colour_mode_as_the_test_pipeline(model, colour_root):
    root, files = colour_root
    meta = build_deploy_meta(model)
    assert meta['decode'] == {'min_size': None, 'background': [255, 255, 255]}
    meta['input'] = dict(
        channel_order=meta['channel_order'], normalize_in_graph=False, dtype='float32'
    )
    batch = pipeline_batch(model, root)
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs'].numpy()
    for path, expected in zip([s.img_path for s in batch['data_samples']], inputs):
        np.testing.assert_allclose(preprocess_image(path, meta), expected, atol=1e-4, err_msg=path)


def test_onnx_runner_decodes_at_the_reduced_scale_of_the_test_loader(tmp_path):
    path = str(tmp_path / 'large.jpg')
    Image.fromarray(photo((800, 600), 3)).save(path, quality=90)
    expected = LoadImage(min_size=128)(dict(img_path=path))['img']
    assert expected.shape[:2] == (150, 200)  # decoded at 1/4 scale
    np.testing.assert_array_equal(load_image(path, {'min_size': 128}), expected)


def test_onnx_runner_uses_mmtl_decoder_without_importing_mmtl_or_torch(colour_root):
    _, files = colour_root
    module_path = osp.join(REPO_ROOT, 'mmtl', 'deployment', 'onnx_inferencer.py')
    code = (
        'import importlib.util, json, sys\n'
        f'spec = importlib.util.spec_from_file_location("onnx_inferencer", {module_path!r})\n'
        'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n'
        f'img = mod.load_image({files["RGBA.png"]!r})\n'
        'heavy = [n for n in ("mmengine", "mmpretrain", "mmcv", "mmtl", "torch") '
        'if n in sys.modules]\n'
        'print(json.dumps([heavy, img[:, :20].min().item(), list(img.shape)]))\n'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    heavy, transparent_min, shape = json.loads(result.stdout.strip().splitlines()[-1])
    assert heavy == [] and transparent_min == 255 and shape == [48, 72, 3]


# ------------------------------------------------------------------------- arrays


def test_float_arrays_in_0_1_are_scaled_and_others_refused(model, colour_root):
    _, files = colour_root
    bgr = cv2.imread(files['UPPER.JPG'])
    by_uint8 = inference_model(model, bgr)['pred_scores']
    by_float = inference_model(model, bgr.astype(np.float32) / 255.0)['pred_scores']
    np.testing.assert_array_equal(by_float, by_uint8)
    by_uint16 = inference_model(model, bgr.astype(np.uint16) * 257)['pred_scores']
    np.testing.assert_array_equal(by_uint16, by_uint8)
    with pytest.raises(ValueError, match=r'values in \[0, 1\].*spans \[0, 255\]'):
        inference_model(model, bgr.astype(np.float32))
    with pytest.raises(ValueError, match='NaN'):
        inference_model(model, np.full((8, 8, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match='got dtype int64'):
        inference_model(model, bgr.astype(np.int64))


def test_bgra_array_is_composited_as_the_rgba_file_is(model, colour_root):
    _, files = colour_root
    bgra = cv2.imread(files['RGBA.png'], cv2.IMREAD_UNCHANGED)
    assert bgra.shape[2] == 4
    by_array = inference_model(model, bgra, channel_order='bgr')['pred_scores']
    by_file = inference_model(model, files['RGBA.png'])['pred_scores']
    np.testing.assert_allclose(by_array, by_file, atol=1e-6)
    opaque = np.ascontiguousarray(bgra[..., :3])
    alpha_dropped = inference_model(model, opaque, channel_order='bgr')['pred_scores']
    assert np.abs(by_array - alpha_dropped).max() > 1e-4  # the red under alpha 0 is not seen


# ------------------------------------------------------------------------- bad files


def test_bad_files_in_a_folder_are_named_skipped_and_the_rest_classified(model, tmp_path):
    good = [str(tmp_path / f'good{i}.jpg') for i in range(3)]
    for i, path in enumerate(good):
        with open(path, 'wb') as f:
            f.write(jpeg_bytes(seed=i))
    bad = {
        'empty.jpg': b'',
        'inside.jpg': corrupt_jpeg_inside(jpeg_bytes(seed=7)),
        'text.png': b'not an image at all',
        'bomb.png': png_header_only(30000, 30000),
    }
    for name, data in bad.items():
        with open(tmp_path / name, 'wb') as f:
            f.write(data)
    results = inference_model(model, str(tmp_path))
    assert sorted(r['img_path'] for r in results) == sorted(good)
    reasons = dict(results.skipped)
    assert sorted(osp.basename(p) for p in reasons) == sorted(bad)
    assert 'empty' in reasons[str(tmp_path / 'empty.jpg')]
    assert 'more than the limit' in reasons[str(tmp_path / 'bomb.png')]
    assert 'Corrupt JPEG data' in reasons[str(tmp_path / 'inside.jpg')]


def test_a_single_bad_file_is_an_error_naming_it(model, tmp_path):
    path = str(tmp_path / 'bomb.png')
    with open(path, 'wb') as f:
        f.write(png_header_only(30000, 30000))
    with pytest.raises(ValueError, match=r'bomb.png.*30000 x 30000.*MMTL_MAX_IMAGE_PIXELS'):
        inference_model(model, path)


def test_onnx_runner_skips_bad_files_in_a_folder(tmp_path, colour_root):
    from mmtl.deployment.onnx_inferencer import OnnxClassifier

    _, files = colour_root
    classifier = OnnxClassifier.__new__(OnnxClassifier)  # no ONNX model needed for this
    classifier.meta = {
        'decode': {'min_size': None, 'background': [255, 255, 255]},
        'preprocess': [{'type': 'resize', 'size': [8, 8]}],
        'input': {'channel_order': 'RGB', 'normalize_in_graph': True, 'dtype': 'float32'},
    }
    classifier.classes = None
    classifier.forward = lambda batch: {'scores': batch.reshape(len(batch), -1)[:, :3]}
    empty = str(tmp_path / 'empty.png')
    open(empty, 'wb').close()
    results = classifier([files['L.png'], empty, files['CMYK.jpg']])
    assert [r['img_path'] for r in results] == [files['L.png'], files['CMYK.jpg']]
    assert [p for p, _ in results.skipped] == [empty]


def test_onnx_runner_copied_out_of_the_tree_finds_the_decoder_beside_it(tmp_path, colour_root):
    import shutil

    _, files = colour_root
    shutil.copy(osp.join(REPO_ROOT, 'mmtl', 'deployment', 'onnx_inferencer.py'), tmp_path)
    code = (
        'import importlib.util, json, sys\n'
        'spec = importlib.util.spec_from_file_location("onnx_inferencer", "onnx_inferencer.py")\n'
        'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n'
        'try:\n'
        f'    mod.load_image({files["RGBA.png"]!r})\n'
        'except ImportError as err:\n'
        '    print(json.dumps(str(err))); sys.exit(0)\n'
        'print(json.dumps(mod.mmtl_file("image_io.py").__file__))\n'
    )
    run = [sys.executable, '-c', code]
    alone = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert 'copy mmtl/datasets/transforms/image_io.py' in json.loads(alone.stdout), alone.stderr
    shutil.copy(osp.join(REPO_ROOT, 'mmtl', 'datasets', 'transforms', 'image_io.py'), tmp_path)
    paired = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert json.loads(paired.stdout) == str(tmp_path / 'image_io.py'), paired.stderr
