"""Every checkpoint scheme and every entry point loads through mmtl's safe loader.

mmengine 0.10.7's scheme loaders (``torchvision://``, ``mmcls://``, ``open-mmlab://``, ...)
call its module-level ``load_from_http`` (torch hub, ``weights_only=False``) or plain
``torch.load``. Each test plants a pickle whose unpickling writes a marker file at the very
path the scheme resolves to (``$TORCH_HOME/hub/checkpoints/<file>`` for the URL schemes),
loads it, and checks that the marker is absent and the error names the file.
"""

import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint
from mmtl_testing import REPO_ROOT, import_tool, tool_status

from mmtl.engine.loading import (  # registers mmtl's checkpoint loaders in mmengine
    SCHEME_LOADERS,
    UnsupportedSchemeError,
    _refuse_scheme,
    register_checkpoint_schemes,
)
from mmtl.utils import NotACheckpointError, UnsafeCheckpointError
from mmtl.utils.checkpoint import (
    SAFE_SCHEME_LOADERS,
    TrustedCheckpointsError,
    cached_checkpoint_path,
    safe_torch_load,
)

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


class WritesMarker:
    """Unpickling this object writes ``marker`` (through a builtin mmtl never allows)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (np.ndarray.tofile, (np.arange(2), self.marker))


class Touches:
    """Unpickling calls ``os.system('touch marker')``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch "{self.marker}"',))


def plant(path, marker):
    """An mmengine-looking checkpoint at ``path`` whose unpickling creates ``marker``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': Touches(marker)}, path)
    return path


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    monkeypatch.setenv('MMTL_OFFLINE', '1')  # never download: the planted file must be used
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    monkeypatch.delenv('MMTL_TRUSTED_CHECKPOINTS', raising=False)
    return home


@pytest.fixture
def marker(tmp_path):
    return tmp_path / 'code_ran'


def first_url_name(table):
    return next(name for name, url in table.items() if url.startswith(('http://', 'https://')))


def url_scheme_targets():
    """(address, URL it resolves to) for every URL-backed scheme mmengine registers."""
    torchvision = mmengine_checkpoint.get_torchvision_models()
    openmmlab = mmengine_checkpoint.get_external_models()
    om_name = first_url_name(openmmlab)
    return {
        'torchvision://': ('torchvision://resnet18', torchvision['resnet18']),
        'modelzoo://': ('modelzoo://resnet18', torchvision['resnet18']),
        'open-mmlab://': (f'open-mmlab://{om_name}', openmmlab[om_name]),
        'openmmlab://': (f'openmmlab://{om_name}', openmmlab[om_name]),
        'https://': ('https://example.com/models/net-1234.pth',) * 2,
        'http://': ('http://example.com/models/net-5678.pth',) * 2,
    }


URL_SCHEMES = sorted(url_scheme_targets())


def test_every_registered_prefix_has_a_safe_loader():
    # The prefixes mmengine registers, each replaced by a safe loader or refused (mmengine's
    # table may grow: then the new prefix is refused rather than loaded with its own loader).
    for prefix, loader in CheckpointLoader._schemes.items():
        if loader not in SCHEME_LOADERS.values():
            # Checked by identity first: a loader that is not mmtl's is never called here.
            assert loader is _refuse_scheme, prefix
            with pytest.raises(UnsupportedSchemeError):
                loader(f'{prefix}model.pth')
    loaded = {'', 'http://', 'https://', 'modelzoo://', 'torchvision://', 'open-mmlab://'}
    loaded.add('openmmlab://')
    refused = {'pavi://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://', 'mmcls://'}
    assert loaded == {p for prefixes in SAFE_SCHEME_LOADERS for p in prefixes}
    assert loaded | refused <= set(CheckpointLoader._schemes)


@pytest.mark.parametrize('scheme', URL_SCHEMES)
def test_url_scheme_refuses_code_planted_in_the_hub_cache(torch_home, marker, scheme):
    address, url = url_scheme_targets()[scheme]
    planted = plant(cached_checkpoint_path(url), marker)
    assert planted.startswith(str(torch_home / 'hub' / 'checkpoints'))

    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(address)

    assert not marker.exists()
    assert planted in str(info.value)


def test_planted_payload_is_live(torch_home, marker):
    """The same file does run code under mmengine's own torchvision:// loader."""
    address, url = url_scheme_targets()['torchvision://']
    plant(cached_checkpoint_path(url), marker)
    mmengine_checkpoint.load_from_torchvision(address, map_location='cpu')
    assert marker.exists()


def test_openmmlab_local_entry_in_mmengine_home_is_loaded_safely(torch_home, marker, tmp_path):
    # A name in MMENGINE_HOME/open_mmlab.json that maps to a file (not a URL).
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    (home / 'open_mmlab.json').write_text(json.dumps({'my_net': 'weights/my_net.pth'}))
    planted = plant(str(home / 'weights' / 'my_net.pth'), marker)
    for prefix in ('open-mmlab://', 'openmmlab://'):
        with pytest.raises(UnsafeCheckpointError) as info:
            CheckpointLoader.load_checkpoint(f'{prefix}my_net')
        assert planted in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    'address',
    [
        'pavi://project/net.pth',
        's3://bucket/net.pth',
        'petrel://bucket/net.pth',
        'cluster:s3://bucket/net.pth',
        'mmcls://resnet50',
    ],
)
def test_schemes_without_a_safe_loader_are_refused_unread(marker, address):
    with pytest.raises(UnsupportedSchemeError) as info:
        CheckpointLoader.load_checkpoint(address)
    assert address in str(info.value)
    assert not marker.exists()


def test_a_scheme_registered_by_another_package_is_refused(marker, monkeypatch):
    def unsafe_loader(filename, map_location=None):
        marker.write_text('ran')
        return {}

    monkeypatch.setattr(CheckpointLoader, '_schemes', dict(CheckpointLoader._schemes))
    CheckpointLoader.register_scheme('thirdparty://', loader=unsafe_loader, force=True)
    register_checkpoint_schemes()  # what mmtl's runner and init_model do before loading
    with pytest.raises(UnsupportedSchemeError, match='thirdparty://x.pth'):
        CheckpointLoader.load_checkpoint('thirdparty://x.pth')
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# mmengine/mmpretrain helper functions and mmtl's entry points, with torchvision://
# --------------------------------------------------------------------------------------------


@pytest.fixture
def planted_torchvision(torch_home, marker):
    address, url = url_scheme_targets()['torchvision://']
    return address, plant(cached_checkpoint_path(url), marker)


def _pretrained_init(address):
    from mmengine.model.weight_init import PretrainedInit

    PretrainedInit(checkpoint=address)(torch.nn.Linear(2, 2))


def _pretrained_init_with_prefix(address):
    from mmengine.model.weight_init import PretrainedInit

    PretrainedInit(checkpoint=address, prefix='backbone.')(torch.nn.Linear(2, 2))


def _init_cfg_in_a_model(address):
    from mmpretrain.models import ResNet

    ResNet(depth=18, init_cfg=dict(type='Pretrained', checkpoint=address)).init_weights()


def _init_model(address):
    from mmtl.apis import init_model

    init_model(DIGITS_CONFIG, address)


HELPERS = {
    'CheckpointLoader.load_checkpoint': lambda a: CheckpointLoader.load_checkpoint(a),
    '_load_checkpoint': lambda a: _load_checkpoint(a, map_location='cpu'),
    'load_checkpoint': lambda a: load_checkpoint(torch.nn.Linear(2, 2), a),
    'PretrainedInit': _pretrained_init,
    'PretrainedInit(prefix)': _pretrained_init_with_prefix,
    'init_cfg=Pretrained': _init_cfg_in_a_model,
    'init_model': _init_model,
}


@pytest.mark.parametrize('helper', sorted(HELPERS))
def test_loading_helpers_go_through_the_safe_loader(planted_torchvision, marker, helper):
    address, planted = planted_torchvision
    with pytest.raises(UnsafeCheckpointError) as info:
        HELPERS[helper](address)
    assert planted in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/infer.py'])
def test_tools_refuse_a_planted_torchvision_checkpoint(
    planted_torchvision, marker, digits_root, tool, capsys
):
    address, planted = planted_torchvision
    image = osp.join(digits_root, 'test', '0', os.listdir(osp.join(digits_root, 'test', '0'))[0])
    options = ['--cfg-options', f'data_root={digits_root}', 'model.head.num_classes=3']
    if tool == 'tools/test.py':
        argv = [DIGITS_CONFIG, '--checkpoint', address, '--work-dir', str(marker) + '_wd']
        argv += options + ['test_dataloader.num_workers=0']
    else:
        argv = [DIGITS_CONFIG, address, image, '--no-progress'] + options
    code = tool_status(import_tool(tool).main, argv)
    err = capsys.readouterr().err
    assert code != 0
    assert planted in err and err.count('\n') == 1, err
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# MMTL_TRUSTED_CHECKPOINTS, files that are no checkpoint, non-finite weights
# --------------------------------------------------------------------------------------------


def test_relative_trusted_entry_is_refused_in_one_line(tmp_path, monkeypatch, marker):
    monkeypatch.chdir(tmp_path)
    plant(str(tmp_path / 'model.pth'), marker)
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', 'model.pth')
    with pytest.raises(TrustedCheckpointsError) as info:
        safe_torch_load(str(tmp_path / 'model.pth'))
    assert "'model.pth' is a relative path" in str(info.value)
    assert '\n' not in str(info.value)
    assert not marker.exists()
    # The same file listed by its absolute path is trusted (the user's explicit choice).
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', str(tmp_path / 'model.pth'))
    safe_torch_load(str(tmp_path / 'model.pth'))
    assert marker.exists()


def _png(path):
    import cv2

    path.write_bytes(cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))[1].tobytes())


def _truncated_zip(path):
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_legacy(path):
    torch.save({'w': torch.zeros(1000)}, str(path), _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


NOT_CHECKPOINTS = {
    'text': lambda p: p.write_text('model = dict(type="ResNet")\n'),
    'empty': lambda p: p.write_bytes(b''),
    'png image': _png,
    'jpeg bytes': lambda p: p.write_bytes(b'\xff\xd8\xff\xe0' + bytes(100)),
    'truncated zip': _truncated_zip,
    'truncated legacy': _truncated_legacy,
    'plain pickle': lambda p: p.write_bytes(__import__('pickle').dumps({'w': [1.0]})),
    'a tensor, not a dict': lambda p: torch.save(torch.zeros(3), str(p)),
}


@pytest.mark.parametrize('kind', sorted(NOT_CHECKPOINTS) + ['damaged safetensors'])
def test_a_file_that_is_no_checkpoint_is_named_as_such(tmp_path, kind):
    if kind == 'damaged safetensors':
        path = tmp_path / 'weights.safetensors'
        path.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a": [1, 2]}')
    else:
        path = tmp_path / 'weights.pth'
        NOT_CHECKPOINTS[kind](path)
    with pytest.raises(NotACheckpointError) as info:
        CheckpointLoader.load_checkpoint(str(path))
    message = str(info.value)
    assert message.startswith(f'not a checkpoint: {path}')
    assert 'could run code' not in message and '\n' not in message
    assert not isinstance(info.value, UnsafeCheckpointError)
