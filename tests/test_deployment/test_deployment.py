"""Deployment: ONNX / TorchScript export, parity with inference_model, mmengine-free inference,
and errors that name the layer a format cannot express."""

import csv
import glob
import inspect
import json
import math
import os.path as osp
import subprocess
import sys
import warnings
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT, describe, run_command, tool_env
from torch import nn

from mmtl.deployment import (
    ExportableClassifier,
    ExportError,
    OnnxClassifier,
    build_deploy_meta,
    export_classifier,
    export_module,
    pipeline_to_steps,
)
from mmtl.deployment.meta import steps_output_size
from mmtl.deployment.onnx_inferencer import PREPROCESS_STEPS, preprocess_image

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
CLASSES = ['0', '1', '2']
#: Parity tolerances: max|exported - PyTorch| <= 1e-4 + 1e-4 * max|PyTorch| for logits (of
#: order 1-10 here), and 1e-4 for softmax scores.
PARITY_TOL = 1e-4


# ---------------------------------------------------------------- preprocessing (unit)


def test_pipeline_steps_of_the_fruit_test_pipeline():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackInputs'),
    ]
    steps = pipeline_to_steps(pipeline)
    assert steps == [
        dict(type='resize_edge', size=256, edge='short', interpolation='bilinear'),
        dict(type='center_crop', size=[224, 224]),
    ]
    assert steps_output_size(steps) == (224, 224)
    assert steps_output_size(steps[:1]) is None  # depends on the image's aspect ratio


def test_pipeline_steps_reject_what_cannot_be_replayed():
    with pytest.raises(ValueError, match="'RandomFlip'"):
        pipeline_to_steps([dict(type='RandomFlip', prob=0.5)])
    with pytest.raises(ValueError, match="backend='pillow'"):
        pipeline_to_steps([dict(type='ResizeEdge', scale=256, backend='pillow')])


def fruit_model_stub(classes=('apple', 'banana')) -> SimpleNamespace:
    """What build_deploy_meta reads from a model: config, dataset meta, data preprocessor."""
    from mmpretrain.models import ClsDataPreprocessor

    from mmtl.config.load import load_config  # sizes follow input_size once resolved

    cfg = load_config(osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py'))
    preprocessor = ClsDataPreprocessor(
        **{k: v for k, v in cfg.data_preprocessor.items() if k != 'type'}
    )
    return SimpleNamespace(
        _config=cfg, _dataset_meta={'classes': list(classes)}, data_preprocessor=preprocessor
    )


def test_deploy_meta_of_the_fruit_config():
    meta = build_deploy_meta(fruit_model_stub())
    assert [step['type'] for step in meta['preprocess']] == ['resize_edge', 'center_crop']
    assert meta['input_size'] == [224, 224]
    assert meta['classes'] == ['apple', 'banana']
    assert meta['channel_order'] == 'RGB'
    assert meta['mean'] == pytest.approx([123.675, 116.28, 103.53])
    # A different --input-size appends a final resize to it.
    small = build_deploy_meta(fruit_model_stub(), input_size=160)
    assert small['preprocess'][-1] == dict(type='resize', size=[160, 160], interpolation='bilinear')
    assert small['input_size'] == [160, 160]


@pytest.mark.parametrize('shape', [(300, 451, 3), (451, 300, 3), (97, 97, 3)])
def test_numpy_preprocessing_matches_mmpretrain_transforms(shape):
    """The cv2 replay of ResizeEdge + CenterCrop gives the pipeline's pixels exactly."""
    from mmpretrain.registry import TRANSFORMS

    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pipeline = [
        dict(type='ResizeEdge', scale=64, edge='short', interpolation='bicubic'),
        dict(type='CenterCrop', crop_size=56),
    ]
    expected = {'img': img.copy()}
    for cfg in pipeline:
        expected = TRANSFORMS.build(cfg)(expected)
    replayed = img
    for step in pipeline_to_steps(pipeline):
        replayed = PREPROCESS_STEPS[step['type']](replayed, step)
    assert replayed.shape == (56, 56, 3)
    np.testing.assert_array_equal(replayed, expected['img'])


# ---------------------------------------------------------------- layers that cannot export


class ToyClassifier(nn.Module):
    """conv -> <layer under test> -> pool -> linear, with mmpretrain's ``mode`` argument."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), layer)
        self.head = nn.Linear(4, 3)

    def forward(self, inputs, mode='tensor'):
        return self.head(self.backbone(inputs).mean((2, 3)))


class SignGate(nn.Module):
    """Python control flow on a tensor value: a trace would freeze one branch."""

    def forward(self, x):
        if x.mean() > 0:
            return x * 2
        return -x


class NumpyScale(nn.Module):
    """A round trip through numpy: invisible to the tracer."""

    def forward(self, x):
        return torch.from_numpy(np.abs(x.detach().numpy()))


class SpectralMagnitude(nn.Module):
    """An FFT: ONNX opset 17 has no ``aten::fft_rfft``."""

    def forward(self, x):
        return torch.fft.rfft(x, dim=-1).abs()[..., : x.shape[-1]]


@pytest.mark.parametrize(
    'layer, export_format, reason',
    [
        (SignGate(), 'torchscript', 'Python boolean'),
        (SignGate(), 'onnx', 'Python boolean'),
        (NumpyScale(), 'onnx', 'torch.from_numpy'),
        (SpectralMagnitude(), 'onnx', 'aten::fft_rfft'),
    ],
)
def test_export_error_names_the_layer(tmp_path, layer, export_format, reason):
    module = ExportableClassifier(ToyClassifier(layer)).eval()
    with pytest.raises(ExportError) as info:
        export_module(module, torch.randn(2, 3, 8, 8), str(tmp_path / 'model'), export_format)
    error = info.value
    assert error.module_path == 'backbone.1'
    assert error.module_type == type(layer).__name__
    assert f'layer backbone.1 ({type(layer).__name__}) to {export_format}' in str(error)
    assert reason in str(error)


class PadToMultipleOfThree(nn.Module):
    """Padding computed from the input's width, as TF 'same' padding and PatchEmbed do."""

    def forward(self, x):
        pad = math.ceil(x.size(-1) / 3) * 3 - x.size(-1)
        if pad > 0:
            x = nn.functional.pad(x, [0, pad])
        return x


class FoldBatch(nn.Module):
    """A Python int taken from the batch size, as Swin's window merging computes it."""

    def forward(self, x):
        batch = int(x.shape[0] / 1)
        return x.reshape(batch, 4, -1).mean(-1)[..., None, None]


@pytest.mark.parametrize('export_format', ['onnx', 'torchscript'])
def test_padding_from_the_input_size_exports_at_that_size(tmp_path, export_format):
    from mmtl.deployment.export import measure_parity, random_batch
    from mmtl.deployment.exporters import build_exporter

    module = ExportableClassifier(ToyClassifier(PadToMultipleOfThree())).eval()
    path = str(tmp_path / 'model')
    fixed_by = export_module(module, torch.randn(2, 3, 8, 8), path, export_format)
    lines, first = inspect.getsourcelines(PadToMultipleOfThree.forward)
    sites = [f'{__file__}:{first + i}' for i, line in enumerate(lines) if 'pad ' in line]
    assert fixed_by == sites and len(sites) == 2  # pad = ..., if pad > 0
    run = build_exporter(export_format).load(path)
    parity = measure_parity(module, run, random_batch(3, (8, 8), 'float32', False, 1))
    assert parity['within_tolerance'], parity


def test_a_number_from_the_batch_size_is_refused(tmp_path):
    module = ExportableClassifier(ToyClassifier(FoldBatch())).eval()
    with pytest.raises(ExportError, match=r'layer backbone.1 \(FoldBatch\).*the batch size'):
        export_module(module, torch.randn(2, 3, 8, 8), str(tmp_path / 'model'), 'onnx')


def test_exportable_toy_model_has_no_error(tmp_path):
    module = ExportableClassifier(ToyClassifier(nn.ReLU())).eval()
    export_module(module, torch.randn(2, 3, 8, 8), str(tmp_path / 'model.onnx'), 'onnx')
    assert osp.getsize(tmp_path / 'model.onnx') > 0


# ---------------------------------------------------------------- export and parity (slow)


@pytest.fixture(scope='module')
def digits_checkpoint(digits_root, tmp_path_factory) -> str:
    """A MobileNet-v2 for digits 0-2: random weights, batch-norm statistics measured on the
    training images (so features are not degenerate), class names in the checkpoint meta."""
    from mmtl.apis import init_model

    torch.manual_seed(0)
    model = init_model(DIGITS_CONFIG, cfg_options=digits_options(digits_root))
    paths = sorted(glob.glob(osp.join(digits_root, 'train', '*', '*.png')))[::4]
    images = [cv2.resize(cv2.imread(p), (32, 32), interpolation=cv2.INTER_CUBIC) for p in paths]
    pixels = torch.from_numpy(np.stack(images)[..., ::-1].transpose(0, 3, 1, 2).copy()).float()
    preprocessor = model.data_preprocessor
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the calibration batch
    model.train()
    with torch.no_grad():
        model((pixels - preprocessor.mean) / preprocessor.std, mode='tensor')
    nn.init.normal_(model.head.fc.weight, std=0.1)
    path = str(tmp_path_factory.mktemp('ckpt') / 'mobilenet_v2_digits.pth')
    meta = {'dataset_meta': {'classes': CLASSES}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def digits_options(digits_root: str) -> dict:
    return {'model.head.num_classes': 3, 'data_root': digits_root}


@pytest.fixture(scope='module')
def digits_model(digits_root, digits_checkpoint):
    from mmtl.apis import init_model

    return init_model(DIGITS_CONFIG, digits_checkpoint, cfg_options=digits_options(digits_root))


@pytest.fixture(scope='module')
def test_images(digits_root) -> list:
    return sorted(glob.glob(osp.join(digits_root, 'test', '*', '*.png')))


@pytest.fixture(scope='module')
def reference(digits_model, test_images) -> list:
    """``inference_model`` on the test split: what every export must reproduce."""
    from mmtl.apis import inference_model

    results = inference_model(digits_model, test_images)
    labels = {r['pred_label'] for r in results}
    assert len(labels) > 1, 'a model that predicts one class would make parity trivial'
    return results


@pytest.fixture(scope='module')
def onnx_dir(digits_root, digits_checkpoint, tmp_path_factory) -> str:
    """The export tool, run as a user would, with softmax scores in the graph."""
    out = str(tmp_path_factory.mktemp('onnx_export'))
    result = run_command(
        [
            sys.executable,
            'tools/deployment/export.py',
            DIGITS_CONFIG,
            digits_checkpoint,
            '--format',
            'onnx',
            '--out',
            out,
            '--scores',
            '--cfg-options',
            'model.head.num_classes=3',
            f'data_root={digits_root}',
        ],
        cwd=REPO_ROOT,
        env=tool_env(out),
    )
    assert result.returncode == 0, describe(result)
    assert f'wrote {osp.join(out, "model.onnx")}' in result.stdout
    assert f'wrote {osp.join(out, "deploy.json")}' in result.stdout
    return out


def assert_logits_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """The parity criterion of ``deploy.json``, relative to the logits' scale."""
    bound = PARITY_TOL + PARITY_TOL * np.abs(expected).max()
    assert np.abs(actual - expected).max() <= bound, np.abs(actual - expected).max()
    assert (actual.argmax(1) == expected.argmax(1)).all()


def model_logits(model, batch: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(batch), mode='tensor').numpy()


@pytest.mark.slow
def test_deploy_json_records_preprocessing_and_versions(onnx_dir):
    import onnx

    with open(osp.join(onnx_dir, 'deploy.json')) as f:
        meta = json.load(f)
    assert meta['format'] == 'onnx' and meta['opset'] == 17
    assert meta['classes'] == CLASSES
    assert meta['mean'] == pytest.approx([123.675, 116.28, 103.53])
    assert meta['std'] == pytest.approx([58.395, 57.12, 57.375])
    assert meta['channel_order'] == 'RGB' and meta['input']['channel_order'] == 'RGB'
    assert meta['input_size'] == [32, 32]
    assert meta['preprocess'] == [dict(type='resize', size=[32, 32], interpolation='bicubic')]
    assert meta['input']['normalize_in_graph'] is False
    assert meta['outputs'] == ['logits', 'scores']
    assert meta['versions']['torch'] == torch.__version__
    assert meta['parity']['within_tolerance'] and meta['parity']['same_top1']
    parity = meta['parity']
    bound = parity['atol'] + parity['rtol'] * parity['max_abs_value']['logits']
    assert 0 <= parity['max_abs_diff']['logits'] <= bound
    graph = onnx.load(osp.join(onnx_dir, 'model.onnx')).graph
    batch_dim = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param == 'batch'  # dynamic batch
    assert [o.name for o in graph.output] == ['logits', 'scores']


@pytest.mark.slow
def test_onnx_parity_with_inference_model(onnx_dir, digits_model, test_images, reference):
    classifier = OnnxClassifier(onnx_dir)
    results = classifier(test_images, batch_size=16)
    assert len(results) == len(test_images) == len(reference)
    assert [r['pred_label'] for r in results] == [r['pred_label'] for r in reference]
    assert [r['pred_class'] for r in results] == [r['pred_class'] for r in reference]
    for ours, theirs in zip(results, reference):
        assert ours['img_path'] == theirs['img_path']
        np.testing.assert_allclose(ours['pred_scores'], theirs['pred_scores'], atol=PARITY_TOL)
        assert ours['pred_score'] == pytest.approx(theirs['pred_score'], abs=PARITY_TOL)
    batch = np.stack([classifier.preprocess(p) for p in test_images[:20]])
    assert_logits_close(classifier.forward(batch)['logits'], model_logits(digits_model, batch))


@pytest.mark.slow
def test_folded_uint8_onnx_parity(digits_model, test_images, reference, tmp_path):
    meta = export_classifier(digits_model, str(tmp_path), 'onnx', fold_preprocess=True)
    assert meta['input']['dtype'] == 'uint8' and meta['input']['normalize_in_graph']
    classifier = OnnxClassifier(str(tmp_path))
    assert classifier.preprocess(test_images[0]).dtype == np.uint8
    results = classifier(test_images)
    assert [r['pred_label'] for r in results] == [r['pred_label'] for r in reference]
    scores = np.stack([r['pred_scores'] for r in results])
    np.testing.assert_allclose(
        scores, np.stack([r['pred_scores'] for r in reference]), atol=PARITY_TOL
    )


@pytest.mark.slow
def test_torchscript_parity_with_inference_model(digits_model, test_images, reference, tmp_path):
    meta = export_classifier(digits_model, str(tmp_path), 'torchscript')
    assert meta['model_file'] == 'model.pt' and meta['opset'] is None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # torch.jit is marked deprecated
        scripted = torch.jit.load(str(tmp_path / 'model.pt'))
    # The numpy preprocessing of deploy.json does not depend on the format.
    batch = np.stack([preprocess_image(p, meta) for p in test_images])
    # The export already ran the optimising executor against eager (deploy.json's parity);
    # here the plain interpreter skips its slow first-call profiling.
    with torch.no_grad(), torch.jit.optimized_execution(False):
        logits = scripted(torch.from_numpy(batch)).numpy()
    assert logits.argmax(1).tolist() == [r['pred_label'] for r in reference]
    assert_logits_close(logits, model_logits(digits_model, batch))


# ---------------------------------------------------------------- inference without mmengine


@pytest.mark.slow
def test_onnx_inference_runs_without_mmengine(onnx_dir, test_images, reference):
    module_path = osp.join(REPO_ROOT, 'mmtl', 'deployment', 'onnx_inferencer.py')
    code = (
        'import importlib.util, json, sys\n'
        f'spec = importlib.util.spec_from_file_location("onnx_inferencer", {module_path!r})\n'
        'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n'
        f'results = mod.OnnxClassifier({onnx_dir!r})({test_images[:8]!r})\n'
        'heavy = ("mmengine", "mmpretrain", "mmcv", "mmtl", "torch")\n'
        'heavy = [name for name in heavy if name in sys.modules]\n'
        'assert not heavy, heavy\n'
        'print(json.dumps([r["pred_label"] for r in results]))\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, env=tool_env(onnx_dir)
    )
    assert result.returncode == 0, describe(result)
    labels = json.loads(result.stdout.strip().splitlines()[-1])
    assert labels == [r['pred_label'] for r in reference[:8]]


@pytest.mark.slow
def test_onnx_infer_tool_writes_csv(onnx_dir, digits_root, reference, tmp_path):
    out = str(tmp_path / 'preds.csv')
    folder = osp.join(digits_root, 'test')
    result = run_command(
        [sys.executable, 'tools/deployment/onnx_infer.py', onnx_dir, folder, '--out', out],
        cwd=REPO_ROOT,
        env=tool_env(str(tmp_path)),
    )
    assert result.returncode == 0, describe(result)
    assert f'wrote {len(reference)} predictions to {out}' in result.stdout
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    expected = {r['img_path']: r['pred_class'] for r in reference}
    assert {row['image']: row['pred_class'] for row in rows} == expected


def test_onnx_classifier_names_a_missing_deploy_json(tmp_path):
    with pytest.raises(FileNotFoundError, match='deploy.json not found'):
        OnnxClassifier(str(tmp_path))


def test_unknown_format_lists_the_known_ones():
    from mmtl.deployment import build_exporter

    with pytest.raises(KeyError, match=r"'tflite'.*\['onnx', 'torchscript'\]"):
        build_exporter('tflite')


@pytest.mark.slow
def test_onnx_infer_tool_lists_topk_like_infer(onnx_dir, digits_root, reference, tmp_path):
    out = str(tmp_path / 'preds.json')
    folder = osp.join(digits_root, 'test')
    command = [sys.executable, 'tools/deployment/onnx_infer.py', onnx_dir, folder]
    result = run_command(
        command + ['--topk', '2', '--out', out], cwd=REPO_ROOT, env=tool_env(str(tmp_path))
    )
    assert result.returncode == 0, describe(result)
    with open(out) as f:
        rows = json.load(f)
    by_path = {r['img_path']: r for r in reference}
    for row in rows:
        expected = by_path[row['image']]['pred_scores']
        best_two = [int(i) for i in expected.argsort()[::-1][:2]]
        assert [entry['label'] for entry in row['topk']] == best_two
        assert row['topk'][0]['score'] >= row['topk'][1]['score']
    # more classes than the model has: one line naming the value, before any work
    result = run_command(command + ['--topk', '4'], cwd=REPO_ROOT, env=tool_env(str(tmp_path)))
    assert result.returncode == 2
    assert "--topk 4 is more than the model's 3 classes" in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_onnx_infer_tool_imports_neither_mmtl_nor_torch(onnx_dir, test_images, tmp_path):
    code = (
        'import runpy, sys\n'
        f'sys.argv = ["onnx_infer.py", {onnx_dir!r}, {test_images[0]!r}, "--topk", "2"]\n'
        'try:\n'
        '    runpy.run_path("tools/deployment/onnx_infer.py", run_name="__main__")\n'
        'except SystemExit as stop:\n'
        '    assert stop.code in (0, None), stop.code\n'
        'print(sorted(m for m in ("mmtl", "torch", "mmengine") if m in sys.modules))\n'
    )
    result = run_command([sys.executable, '-c', code], cwd=REPO_ROOT, env=tool_env(str(tmp_path)))
    assert result.returncode == 0, describe(result)
    assert result.stdout.strip().splitlines()[-1] == '[]'
    assert test_images[0] in result.stdout
