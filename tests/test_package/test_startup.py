"""``import mmtl`` stays light (#16 start-up) and still registers what it must.

No timing here (the benchmark ``benchmarks/bench_startup.py`` measures it): a fresh
interpreter imports mmtl and reports which heavy packages came with it, whether the safe
checkpoint loaders are in place, and whether configs still build through the registries'
``locations``.
"""

import json
import os
import os.path as osp
import sys

import pytest
from mmtl_testing import REPO_ROOT, run_probe, write_color_folder

#: Packages that ``import mmtl`` must not import: each is imported by the function that uses
#: it (metrics, plots, export, search, Grad-CAM, timm checkpoints) or, for mmtl's and
#: mmpretrain's modules, by mmengine when a config is first built in the ``mmtl`` scope.
LAZY_MODULES = (
    'sklearn',
    'matplotlib',
    'scipy',
    'pandas',
    'onnx',
    'onnxruntime',
    'tensorboard',
    'optuna',
    'timm',
    'pytorch_grad_cam',
    'torchvision',
    'mmpretrain.models',
    'mmpretrain.datasets',
    'mmtl.datasets',
    'mmtl.models',
    'mmtl.evaluation',
    'mmtl.visualization',
)

_PROBE = r"""
import json, sys
import mmtl

report = {'loaded': sorted(m for m in LAZY if m in sys.modules)}

# Reading an mmtl config (its base runtime's custom_imports) registers mmtl's safe loaders
# and MMTLRunner, as the standard OpenMMLab train script (Config.fromfile + RUNNERS.build) does.
from mmengine.config import Config
Config.fromfile(CONFIG)
from mmengine.registry import RUNNERS
from mmengine.runner import CheckpointLoader
report['local_loader'] = CheckpointLoader._schemes[''].__module__
report['url_loader'] = CheckpointLoader._schemes['https://'].__module__
report['root_runner'] = 'MMTLRunner' in RUNNERS.module_dict

# Build through mmengine's root registries in the mmtl scope, as a Runner does.
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope
init_default_scope('mmtl')
cfg = Config(dict(
    dataset=dict(
        type='FolderDataset', data_root=ROOT, data_prefix='train', class_folder='train',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=32),
                  dict(type='PackInputs')]),
    model=dict(
        type='TransferClassifier',
        backbone=dict(type='MobileNetV2', widen_factor=0.25),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='TransferClsHead', num_classes=2, in_channels=1280,
                  loss=dict(type='CrossEntropyLoss')))))
dataset = DATASETS.build(cfg.dataset)
sample = dataset[0]
report['dataset'] = [type(dataset).__name__, len(dataset), list(dataset.metainfo['classes']),
                     list(sample['inputs'].shape)]
model = MODELS.build(cfg.model)
report['model'] = [type(model).__name__, type(model.backbone).__name__,
                   type(model.head).__name__]
report['lazy_attribute'] = mmtl.datasets.FolderDataset.__name__
print('REPORT' + json.dumps(report))
"""


def test_import_mmtl_is_light_and_still_registers(tmp_path):
    root = str(tmp_path / 'data')
    write_color_folder(root, {'blue': (200, 40, 40), 'red': (40, 40, 200)}, per_class=2)
    config = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py')
    code = f'LAZY = {LAZY_MODULES!r}\nROOT = {root!r}\nCONFIG = {config!r}\n' + _PROBE
    report = run_probe(code, str(tmp_path))

    assert report['loaded'] == [], f'import mmtl imported {report["loaded"]}'
    assert report['local_loader'] == 'mmtl.engine.loading'
    assert report['url_loader'] == 'mmtl.engine.loading'
    assert report['root_runner'] is True
    assert report['dataset'] == ['FolderDataset', 4, ['blue', 'red'], [3, 32, 32]]
    assert report['model'] == ['TransferClassifier', 'MobileNetV2', 'TransferClsHead']
    assert report['lazy_attribute'] == 'FolderDataset'


def test_unknown_attribute_is_still_an_attribute_error():
    import mmtl

    try:
        mmtl.no_such_subpackage  # noqa: B018
    except AttributeError as error:
        assert 'no_such_subpackage' in str(error)
    else:
        raise AssertionError('mmtl.no_such_subpackage did not raise AttributeError')


@pytest.mark.slow
def test_startup_benchmark_tiny(tmp_path):
    sys.path.insert(0, osp.join(REPO_ROOT, 'benchmarks'))
    try:
        import bench_startup
    finally:
        sys.path.remove(osp.join(REPO_ROOT, 'benchmarks'))
    out = tmp_path / 'startup.json'
    assert bench_startup.main(['--tiny', '--out', str(out), '--data-dir', str(tmp_path)]) == 0
    record = json.loads(out.read_text())
    median = record['median_seconds']
    assert set(median) == set(bench_startup.commands('x'))
    assert all(len(runs) == 1 and runs[0] > 0 for runs in record['seconds'].values())
    goals = record['goals']
    ratio = goals['import mmtl / import mmpretrain']
    assert ratio['value'] == round(median['import mmtl'] / median['import mmpretrain'], 4)
    assert ratio['met'] == (ratio['value'] <= 1.1)
    tool = goals['check_dataset / import torch']
    assert tool['value'] == round(median['check_dataset (100 images)'] / median['import torch'], 4)
    assert goals['train.py --help (s)']['met'] == (median['train.py --help'] < 1.0)
    assert len(list((tmp_path / 'startup_100' / 'train').glob('*/*.jpg'))) == 100


#: What the light dataset modules (the scan, the listing, image decoding) must not import.
HEAVY_FOR_A_SCAN = ('torch', 'mmengine.runner', 'mmpretrain', 'mmcv', 'cv2', 'mmtl.registry')

_SCAN_PROBE = r"""
import json, sys
sys.argv = ['check_dataset.py', ROOT]
sys.path.insert(0, TOOLS)
import check_dataset
code = check_dataset.main([ROOT])
print('REPORT' + json.dumps({'code': code,
                             'loaded': sorted(m for m in HEAVY if m in sys.modules)}))
"""


def test_check_dataset_imports_neither_torch_nor_mmpretrain(tmp_path):
    """The scan needs NumPy and Pillow only: importing ``mmtl.datasets.scan`` used to import
    ``mmtl.datasets`` and with it FolderDataset, mmpretrain and torch (2.15x ``import torch``
    for a 100-image check)."""
    root = str(tmp_path / 'data')
    write_color_folder(root, {'blue': (200, 40, 40), 'red': (40, 40, 200)}, per_class=2)
    code = (
        f'HEAVY = {HEAVY_FOR_A_SCAN!r}\nROOT = {root!r}\n'
        f'TOOLS = {osp.join(REPO_ROOT, "tools")!r}\n' + _SCAN_PROBE
    )
    report = run_probe(code, str(tmp_path))
    assert report == {'code': 0, 'loaded': []}, report


def registering_modules() -> dict:
    """mmtl module -> the mmtl child registries it registers into (``@HOOKS.register_module``).

    Only the registries that are children of mmpretrain's (built from configs through their
    ``locations``); mmtl's own look-up tables name their modules themselves.
    """
    import ast

    from mmtl import registry

    children = {
        name
        for name in registry.__all__
        if getattr(getattr(registry, name), 'parent', None) is not None
    }
    found = {}
    package_dir = osp.join(REPO_ROOT, 'mmtl')
    for folder, _, files in os.walk(package_dir):
        for file in files:
            if not file.endswith('.py'):
                continue
            path = osp.join(folder, file)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            used = {
                node.value.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and node.attr == 'register_module'
                and isinstance(node.value, ast.Name)
                and node.value.id in children
            }
            if used:
                module = osp.relpath(path[: -len('.py')], REPO_ROOT).replace(os.sep, '.')
                found[module.removesuffix('.__init__')] = sorted(used)
    return found


_LOCATIONS_PROBE = r"""
import json, sys
from mmtl import registry
for name in NAMES:
    getattr(registry, name).import_from_location()
print('REPORT' + json.dumps(sorted(m for m in sys.modules if m.startswith('mmtl.'))))
"""


def test_registry_locations_import_every_registering_module(tmp_path):
    """``mmtl.datasets`` imports nothing up front, so the registries must name its modules:
    a module that registers but is missing from ``locations`` is a type name a config cannot
    find. ``mmtl.search`` (the Optuna pruning hook) is imported by the search that uses it."""
    expected = {m: r for m, r in registering_modules().items() if not m.startswith('mmtl.search')}
    assert 'mmtl.datasets.folder_dataset' in expected  # the scan sees the decorators
    names = sorted({name for used in expected.values() for name in used})
    code = f'NAMES = {names!r}\n' + _LOCATIONS_PROBE
    imported = set(run_probe(code, str(tmp_path)))
    missing = {m: r for m, r in expected.items() if m not in imported}
    assert missing == {}, f'registering modules no registry location imports: {missing}'
