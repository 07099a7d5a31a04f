"""init_model / inference_model / show_result_pyplot on small models and real digit images."""

import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT

from mmtl.apis import inference_model, init_model, show_result_pyplot
from mmtl.datasets.listing import expand_inputs
from mmtl.utils.errors import ConfigError
from mmtl.visualization.prediction import PREDICTION_FIGSIZE

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
CLASSES = ('zero', 'one', 'two')


@pytest.fixture(scope='module')
def random_model(digits_root):
    """The digits model with 3 classes and random weights (deterministic: seed 0)."""
    torch.manual_seed(0)
    options = {'model.head.num_classes': 3, 'data_root': digits_root}
    return init_model(DIGITS_CONFIG, cfg_options=options)


def save_checkpoint(model, path, location=None, classes=CLASSES):
    """Save ``model`` as mmengine does (meta.dataset_meta with class names).

    With ``location`` (e.g. ``'cuda:0'``) every tensor is tagged as stored there, as in a
    checkpoint written on a GPU machine.
    """
    ckpt = {'meta': {'dataset_meta': {'classes': classes}}, 'state_dict': model.state_dict()}
    if location is None:
        torch.save(ckpt, path)
        return
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: location
    try:
        torch.save(ckpt, path)
    finally:
        torch.serialization.location_tag = original


def test_gpu_checkpoint_loads_on_cpu_with_class_names(tmp_path, random_model, digits_root):
    path = str(tmp_path / 'trained_on_gpu.pth')
    save_checkpoint(random_model, path, location='cuda:0')
    if not torch.cuda.is_available():
        # The file really asks for CUDA: loading it as is fails on this machine.
        with pytest.raises(RuntimeError, match='CUDA'):
            torch.load(path, weights_only=True)

    model = init_model(
        DIGITS_CONFIG, path, cfg_options={'model.head.num_classes': 3, 'data_root': digits_root}
    )
    assert model._dataset_meta['classes'] == CLASSES
    loaded, source = model.state_dict(), random_model.state_dict()
    for key, value in source.items():
        assert loaded[key].device.type == 'cpu'
        assert torch.equal(loaded[key], value), key
    image = sorted(glob.glob(osp.join(digits_root, 'test', '2', '*.png')))[0]
    result = inference_model(model, image)
    assert result['pred_class'] == CLASSES[result['pred_label']]


def test_checkpoint_for_other_class_count_is_refused_naming_it(tmp_path, random_model):
    path = str(tmp_path / 'three_classes.pth')
    save_checkpoint(random_model, path)
    with pytest.raises(ConfigError, match='three_classes.pth does not fit the model'):
        init_model(DIGITS_CONFIG, path)  # the config's head has 10 classes


def test_a_loaded_config_takes_cfg_options_checked_and_is_left_unchanged(digits_root):
    from mmengine.config import Config

    cfg = Config.fromfile(DIGITS_CONFIG)
    options = {'model.head.num_classes': 3, 'data_root': digits_root}
    model = init_model(cfg, cfg_options=options)
    assert model.head.num_classes == 3 and cfg.model.head.num_classes != 3
    with pytest.raises(ConfigError, match='num_classes'):
        init_model(cfg, cfg_options={'model.head.num_classes': 'three'})


def test_array_and_file_give_identical_scores(random_model, digits_root):
    files = sorted(glob.glob(osp.join(digits_root, 'test', '*', '*.png')))[:5]
    from_files = inference_model(random_model, files, batch_size=2)
    arrays = [cv2.imread(f) for f in files]
    from_arrays = inference_model(random_model, arrays, batch_size=3, channel_order='bgr')
    assert len(from_files) == len(from_arrays) == 5
    for by_file, by_array, path in zip(from_files, from_arrays, files):
        assert by_file['img_path'] == path and 'img_path' not in by_array
        assert np.array_equal(by_file['pred_scores'], by_array['pred_scores'])
        assert by_file['pred_label'] == by_array['pred_label']
    # A grey H x W array is the same image as its 3-channel BGR version.
    grey = cv2.imread(files[0], cv2.IMREAD_GRAYSCALE)
    single = inference_model(random_model, grey)
    assert isinstance(single, dict)
    assert np.array_equal(single['pred_scores'], from_files[0]['pred_scores'])


def test_result_fields_are_consistent(random_model, digits_root, capsys):
    files = sorted(glob.glob(osp.join(digits_root, 'test', '0', '*.png')))[:4]
    result = inference_model(random_model, files, batch_size=3, progress=True)[0]
    assert '4/4' in capsys.readouterr().err  # the progress bar reached the end
    scores = result['pred_scores']
    assert scores.shape == (3,)
    assert scores.sum() == pytest.approx(1.0, abs=1e-5)
    assert result['pred_label'] == int(scores.argmax())
    assert result['pred_score'] == pytest.approx(float(scores.max()))


def test_class_names_changed_after_the_first_call_are_used(random_model, digits_root):
    image = sorted(glob.glob(osp.join(digits_root, 'test', '0', '*.png')))[0]
    original = random_model._dataset_meta
    try:
        random_model._dataset_meta = {'classes': ('a', 'b', 'c')}
        first = inference_model(random_model, image)
        pipeline = random_model._mmtl_inferencer
        random_model._dataset_meta = {'classes': ('x', 'y', 'z')}
        second = inference_model(random_model, image)
        assert random_model._mmtl_inferencer is pipeline  # the pipeline stays cached
        random_model._dataset_meta = {'classes': ('x', 'y')}
        with pytest.raises(ValueError, match="the model's class names"):
            inference_model(random_model, image)
    finally:
        random_model._dataset_meta = original
    assert first['pred_class'] == 'abc'[first['pred_label']]
    assert second['pred_class'] == 'xyz'[second['pred_label']]


def test_expand_inputs_folder_glob_and_errors(digits_root):
    test_dir = osp.join(digits_root, 'test')
    in_folder = expand_inputs(test_dir, [])
    assert in_folder == sorted(glob.glob(osp.join(test_dir, '*', '*.png')))
    assert expand_inputs(osp.join(test_dir, '1', '*.png'), []) == [
        p for p in in_folder if osp.basename(osp.dirname(p)) == '1'
    ]
    with pytest.raises(FileNotFoundError, match='nowhere.png'):
        expand_inputs([in_folder[0], osp.join(test_dir, 'nowhere.png')], [])
    with pytest.raises(FileNotFoundError, match=r'matches the pattern .*\*\.tif'):
        expand_inputs(osp.join(test_dir, '*.tif'), [])


def test_show_result_pyplot_writes_the_drawing(tmp_path, random_model, digits_root):
    image = sorted(glob.glob(osp.join(digits_root, 'test', '1', '*.png')))[0]
    result = inference_model(random_model, image)
    out = str(tmp_path / 'vis' / 'prediction.png')
    drawing = show_result_pyplot(random_model, image, result, out_file=out, topk=2)
    written = cv2.imread(out)
    width, height = (int(side * 100) for side in PREDICTION_FIGSIZE)
    assert written.shape == drawing.shape == (height, width, 3)
    assert np.array_equal(written[..., ::-1], drawing)
    # The left half shows the digit: its dark background and bright strokes are there.
    left = drawing[:, : width // 2]
    assert (left < 30).all(axis=2).sum() > 1000 and (left > 225).all(axis=2).sum() > 1000


def test_a_skipped_file_keeps_its_whole_reason_whatever_its_name(
    tmp_path, random_model, digits_root
):
    """The reason used to be cut out of the message at the first ': ', which a name may hold."""
    import glob
    import shutil

    good = sorted(glob.glob(f'{digits_root}/test/*/*.png'))[0]
    shutil.copy(good, tmp_path / 'good.png')
    (tmp_path / 'a: b.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 64)  # a cut PNG
    results = inference_model(random_model, str(tmp_path))
    assert len(results) == 1 and len(results.skipped) == 1
    path, reason = results.skipped[0]
    assert path.endswith('a: b.png')
    assert 'b.png' not in reason and reason, reason


@pytest.fixture(scope='module')
def colour_photo(tmp_path_factory):
    """A 40 x 40 PNG with distinct red, green and blue areas (channel order matters)."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    rgb[:, :20, 0] = 250  # red left half
    path = str(tmp_path_factory.mktemp('colour') / 'photo.png')
    cv2.imwrite(path, rgb[..., ::-1])
    return path, rgb


def pipeline_input(model, image):
    """The image tensor the test pipeline makes of ``image`` (what the network sees)."""
    from mmtl.apis.inference import _Classifier

    return _Classifier(model).prepare(image)['inputs']


def test_rgb_arrays_pil_images_and_bgr_by_name_give_the_file_input(random_model, colour_photo):
    # (The random model's scores hardly depend on the image: compare what it is given.)
    from PIL import Image

    from mmtl.apis.inference import _as_pipeline_input

    path, rgb = colour_photo
    by_file = pipeline_input(random_model, path)
    forms = {
        'rgb array': (rgb, 'rgb'),  # PIL/matplotlib/skimage order, the default
        'PIL image': (Image.open(path), 'rgb'),
        'bgr array by name': (cv2.imread(path), 'bgr'),
        'rgba array': (np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), 'rgb'),
    }
    for name, (image, order) in forms.items():
        tensor = pipeline_input(random_model, _as_pipeline_input(image, order))
        assert torch.equal(tensor, by_file), name
    swapped = pipeline_input(random_model, _as_pipeline_input(rgb, 'bgr'))
    assert not torch.equal(swapped, by_file), 'the channel order was ignored'
    scores = inference_model(random_model, Image.open(path))['pred_scores']
    np.testing.assert_allclose(scores, inference_model(random_model, path)['pred_scores'])


@pytest.mark.parametrize('bad', [torch.zeros(3, 32, 32), b'not an image', 3.5])
def test_other_input_types_are_refused_in_one_line(random_model, bad):
    with pytest.raises(TypeError) as err:
        inference_model(random_model, bad)
    message = str(err.value)
    assert '\n' not in message and f'cannot classify a {type(bad).__module__}' in message
    assert 'PIL image' in message and "channel_order='bgr'" in message


def test_an_unknown_channel_order_is_refused(random_model, colour_photo):
    with pytest.raises(ValueError, match="channel_order='BGR': use 'rgb' or 'bgr'"):
        inference_model(random_model, colour_photo[1], channel_order='BGR')
