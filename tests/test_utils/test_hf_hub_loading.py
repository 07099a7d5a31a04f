"""``load_from='hf-hub:timm/<name>'`` through the local Hugging Face cache, offline-honest, and
the warning when the config's normalisation differs from the weights' pretrained_cfg."""

import glob
import json
import logging
import os
import os.path as osp
import sys
import time
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env, tool_status

from mmtl.engine.hooks import PretrainedNormalizationHook, normalization_mismatch
from mmtl.engine.loading import read_weights  # registers the hf-hub: scheme and the converters
from mmtl.registry import MODELS
from mmtl.utils.checkpoint import CheckpointDownloadError, safe_torch_load
from mmtl.utils.errors import ConfigError
from mmtl.utils.hf_hub import hub_weights_path, parse_hub_ref

timm = pytest.importorskip('timm')
from safetensors.torch import save_file  # noqa: E402
from timm.models._hub import save_config_for_hf  # noqa: E402

COMMIT = '0123456789abcdef0123456789abcdef01234567'
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """An empty private Hugging Face cache, offline."""
    home = tmp_path / 'hf_home'
    monkeypatch.setenv('HF_HOME', str(home))
    for name in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('MMTL_OFFLINE', '1')
    return home


def put_in_hub_cache(
    home, model_name, model, weights='model.safetensors', config=True, **cfg_overrides
):
    """Lay a timm model's files out as huggingface_hub caches them (blobs + snapshot links).

    The weights are written as timm writes them (safetensors of the bare state dict, or a
    torch pickle) and config.json by timm's own ``save_config_for_hf``.
    """
    repo = home / 'hub' / f'models--timm--{model_name}'
    blobs, snapshot = repo / 'blobs', repo / 'snapshots' / COMMIT
    for folder in (blobs, snapshot, repo / 'refs'):
        folder.mkdir(parents=True, exist_ok=True)
    (repo / 'refs' / 'main').write_text(COMMIT)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    weights_blob = blobs / 'weights-blob'
    if weights.endswith('.safetensors'):
        save_file(state, str(weights_blob), metadata={'format': 'pt'})
    else:
        torch.save(state, str(weights_blob))
    save_config_for_hf(model, str(blobs / 'config-blob'))
    if cfg_overrides:
        config = json.loads((blobs / 'config-blob').read_text())
        config['pretrained_cfg'].update(cfg_overrides)
        (blobs / 'config-blob').write_text(json.dumps(config))
    os.symlink('../../blobs/weights-blob', snapshot / weights)
    if config:
        os.symlink('../../blobs/config-blob', snapshot / 'config.json')
    return str(snapshot / weights)


def timm_model(name, seed=0, **kwargs):
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False, **kwargs).eval()


def build_mmtl_model(base_config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', base_config))
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg.model)


# --------------------------------------------------------------------------------------------
# References and the cache layout
# --------------------------------------------------------------------------------------------


def test_references_name_a_repository_and_revision():
    assert parse_hub_ref('hf-hub:timm/resnet50.a1_in1k') == ('timm/resnet50.a1_in1k', 'main')
    assert parse_hub_ref('timm://resnet50.a1_in1k@v2') == ('timm/resnet50.a1_in1k', 'v2')
    assert parse_hub_ref('hf-hub:org/x@refs/pr/1') == ('org/x', 'refs/pr/1')
    with pytest.raises(ConfigError, match=r"load_from: 'hf-hub:resnet50' does not name a hub"):
        parse_hub_ref('hf-hub:resnet50')


@pytest.mark.parametrize(
    'ref',
    [
        'hf-hub:timm/x@../../../../tmp/evil',
        'hf-hub:timm/x@main/../../evil',
        'hf-hub:timm/x@/etc',
        'hf-hub:timm/x@a b',
        'hf-hub:timm/x@\x1b[2J',
        'hf-hub:../../x',
        'hf-hub:timm/..',
    ],
)
def test_a_revision_or_repository_that_is_a_path_is_refused(ref):
    with pytest.raises(ConfigError) as info:
        parse_hub_ref(ref)
    assert '\x1b' not in str(info.value) and '\n' not in str(info.value)


def test_cached_weights_are_found_through_refs_and_snapshots(hf_home):
    model = timm_model('resnet18')
    path = put_in_hub_cache(hf_home, 'resnet18.a1_in1k', model)
    assert hub_weights_path('hf-hub:timm/resnet18.a1_in1k') == path
    assert hub_weights_path('timm://resnet18.a1_in1k') == path
    assert hub_weights_path(f'timm://resnet18.a1_in1k@{COMMIT}') == path
    with pytest.raises(CheckpointDownloadError):
        hub_weights_path('timm://resnet18.a1_in1k@other-branch')


def test_hub_cache_variables_are_honoured(tmp_path, monkeypatch):
    model = timm_model('resnet18')
    path = put_in_hub_cache(tmp_path / 'elsewhere', 'resnet18.tv_in1k', model)
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'unused'))
    monkeypatch.setenv('HUGGINGFACE_HUB_CACHE', str(tmp_path / 'elsewhere' / 'hub'))
    monkeypatch.delenv('HF_HUB_CACHE', raising=False)
    monkeypatch.setenv('MMTL_OFFLINE', '1')
    assert hub_weights_path('timm://resnet18.tv_in1k') == path


# --------------------------------------------------------------------------------------------
# Loading: converted, logged, with the pretrained_cfg
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'name, ref, weights, base_config, layout',
    [
        (
            'mobilenetv2_100',
            'hf-hub:timm/mobilenetv2_100.ra_in1k',
            'model.safetensors',
            'mobilenet_v2_1x.py',
            "timm's own layout",
        ),
        (
            'resnet18',
            'timm://resnet18.a1_in1k',
            'pytorch_model.bin',
            'resnet18.py',
            "torchvision's layout",
        ),
    ],
)
def test_hub_reference_loads_converted_with_identical_logits(
    hf_home, tmp_path, name, ref, weights, base_config, layout
):
    model_name = ref.split('/')[-1]
    model = timm_model(name, seed=3)
    path = put_in_hub_cache(hf_home, model_name, model, weights=weights)
    logger = MMLogger.get_instance(f'hub_{name}', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    mm_model = build_mmtl_model(f'_base_/models/{base_config}')
    checkpoint = load_checkpoint(mm_model, ref, strict=True)
    meta = checkpoint['meta']
    assert meta['converted_from'] == 'timm'
    assert meta['timm_model'] == model_name
    assert meta['source'] == path
    expected_cfg = model.pretrained_cfg
    assert meta['pretrained_cfg']['model'] == model_name
    assert meta['pretrained_cfg']['mean'] == list(expected_cfg['mean'])
    assert meta['pretrained_cfg']['std'] == list(expected_cfg['std'])
    assert meta['pretrained_cfg']['input_size'] == list(expected_cfg['input_size'])
    mm_model.eval()
    inputs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), model(inputs), atol=1e-5, rtol=0
        )
    lines = [line for line in (tmp_path / 'log.txt').read_text().splitlines() if path in line]
    assert len(lines) == 1
    assert f'{path} is a timm {model_name} checkpoint ({layout}): converted its' in lines[0]
    assert 'trained at 224x224, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)' in lines[0]


def test_without_config_json_the_cfg_comes_from_timms_default_cfgs(hf_home):
    """resnet34.ra4_e3600_r224_in1k was trained with mean = std = 0.5 (timm's default_cfgs)."""
    put_in_hub_cache(hf_home, 'resnet34.ra4_e3600_r224_in1k', timm_model('resnet34'), config=False)
    checkpoint = read_weights('timm://resnet34.ra4_e3600_r224_in1k')
    pretrained_cfg = checkpoint['meta']['pretrained_cfg']
    assert pretrained_cfg['model'] == 'resnet34.ra4_e3600_r224_in1k'
    assert tuple(pretrained_cfg['mean']) == tuple(pretrained_cfg['std']) == (0.5, 0.5, 0.5)
    assert 'data_preprocessor uses mean [123.675' in normalization_mismatch(
        pretrained_cfg, IMAGENET_MEAN, IMAGENET_STD
    )


def test_unsupported_timm_model_from_the_hub_is_loaded_unconverted_with_a_warning(
    hf_home, tmp_path
):
    """resnet18d has ResNet-18's key names but a deep stem: known timm, not converted."""
    model = timm_model('resnet18d')
    put_in_hub_cache(hf_home, 'resnet18d.ra2_in1k', model)
    logger = MMLogger.get_instance('hub_unsupported', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    checkpoint = read_weights('hf-hub:timm/resnet18d.ra2_in1k')
    assert checkpoint['state_dict'].keys() == model.state_dict().keys()
    log = (tmp_path / 'log.txt').read_text()
    assert log.count('WARNING') == 1
    assert 'is a timm checkpoint (resnet18d.ra2_in1k) of none of the architectures' in log
    assert 'a ResNet with a deep stem (ResNet-C/D)' in log


# --------------------------------------------------------------------------------------------
# Offline-honest
# --------------------------------------------------------------------------------------------


def test_missing_reference_offline_names_the_cache_path(hf_home):
    start = time.monotonic()
    with pytest.raises(CheckpointDownloadError) as info:
        hub_weights_path('hf-hub:timm/resnet50.a1_in1k')
    assert time.monotonic() - start < 2
    message = str(info.value)
    folder = osp.join(str(hf_home), 'hub', 'models--timm--resnet50.a1_in1k')
    assert message.startswith('Could not get hf-hub:timm/resnet50.a1_in1k (')
    assert folder in message and '\n' not in message
    assert 'huggingface-cli download timm/resnet50.a1_in1k' in message
    assert '--cfg-options load_from=/path/to/model.safetensors' in message


def test_without_network_the_download_fails_at_once(hf_home, monkeypatch):
    """Downloads allowed, but nothing answers: the same message, at once."""
    monkeypatch.delenv('MMTL_OFFLINE')
    monkeypatch.setenv('HF_ENDPOINT', 'http://127.0.0.1:9')  # the discard port: refused
    start = time.monotonic()
    with pytest.raises(CheckpointDownloadError) as info:
        hub_weights_path('timm://resnet50.a1_in1k')
    assert time.monotonic() - start < 60
    assert osp.join(str(hf_home), 'hub', 'models--timm--resnet50.a1_in1k') in str(info.value)


class HostileHub:
    """A hub mirror whose answers name paths outside the cache (commit, ETag)."""

    def __init__(self, commit, etag):
        import http.server
        import threading

        headers = {'X-Repo-Commit': commit, 'ETag': etag, 'Content-Length': '4'}

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body):
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(b'evil')

            def do_HEAD(self):  # noqa: N802
                self._answer(False)

            def do_GET(self):  # noqa: N802
                self._answer(True)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'


@pytest.mark.parametrize(
    'commit, etag',
    [
        ('../../../../outside', '"0123abcd"'),
        (COMMIT, '"../../../../outside/blob"'),
        (COMMIT, '../../../../outside/blob'),
    ],
)
def test_a_hostile_mirror_cannot_write_outside_the_cache(
    hf_home, monkeypatch, tmp_path, commit, etag
):
    monkeypatch.delenv('MMTL_OFFLINE')
    hub = HostileHub(commit, etag)
    monkeypatch.setenv('HF_ENDPOINT', hub.url)
    try:
        with pytest.raises(CheckpointDownloadError) as info:
            hub_weights_path('hf-hub:timm/resnet18.a1_in1k')
    finally:
        hub.server.shutdown()
    assert 'no commit or ETag' in str(info.value)
    written = [
        osp.relpath(osp.join(folder, name), tmp_path)
        for folder, _, names in os.walk(tmp_path)
        for name in names
    ]
    assert not [p for p in written if not p.startswith('hf_home')], written
    assert not osp.exists(tmp_path / 'outside')


def test_train_tool_stops_before_any_work(tmp_path, digits_root):
    env = tool_env(str(tmp_path), HF_HOME=str(tmp_path / 'hf'))
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py')]
        + [osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'), '--work-dir', 'wd']
        + ['--cfg-options', 'load_from=hf-hub:timm/mobilenetv2_100.ra_in1k']
        + [f'data_root={digits_root}', 'model.head.num_classes=3', *NO_WORKERS],
        str(tmp_path),
        env,
    )
    assert result.returncode != 0, describe(result)
    assert 'Traceback' not in result.stderr, describe(result)
    folder = osp.join(str(tmp_path / 'hf'), 'hub', 'models--timm--mobilenetv2_100.ra_in1k')
    assert folder in result.stdout + result.stderr
    assert not osp.exists(tmp_path / 'wd' / 'epoch_1.pth')


# --------------------------------------------------------------------------------------------
# The weights' normalisation against the config's
# --------------------------------------------------------------------------------------------

TIMM_IMAGENET = {'mean': (0.485, 0.456, 0.406), 'std': (0.229, 0.224, 0.225)}


def test_same_normalisation_gives_no_message():
    assert normalization_mismatch(TIMM_IMAGENET, IMAGENET_MEAN, IMAGENET_STD) is None
    assert normalization_mismatch({'input_size': [3, 224, 224]}, None, None) is None


def test_other_normalisation_is_described_with_what_to_set():
    cfg = {'model': 'vit.x', 'mean': [0.5] * 3, 'std': [0.5] * 3, 'input_size': [3, 384, 384]}
    message = normalization_mismatch(cfg, IMAGENET_MEAN, IMAGENET_STD)
    assert message.startswith(
        'vit.x (trained at 384x384) expects inputs normalised with mean '
        '[127.500, 127.500, 127.500] and std [127.500, 127.500, 127.500]'
    )
    assert 'data_preprocessor uses mean [123.675, 116.280, 103.530]' in message
    assert 'set data_preprocessor.mean=[127.500, 127.500, 127.500]' in message
    assert '\n' not in message
    no_norm = normalization_mismatch(cfg, None, None)
    assert 'data_preprocessor uses mean none and std none' in no_norm


def _fake_runner(mean, std):
    from mmpretrain.models import ClsDataPreprocessor

    model = SimpleNamespace(data_preprocessor=ClsDataPreprocessor(mean=mean, std=std))
    records = []
    logger = SimpleNamespace(log=lambda level, msg: records.append((level, msg)))
    return SimpleNamespace(model=model, logger=logger), records


def test_hook_warns_once_on_a_mismatch_and_not_otherwise():
    hook = PretrainedNormalizationHook()
    checkpoint = {'meta': {'pretrained_cfg': {'mean': [0.5] * 3, 'std': [0.5] * 3}}}
    runner, records = _fake_runner(IMAGENET_MEAN, IMAGENET_STD)
    hook.after_load_checkpoint(runner, checkpoint)
    assert len(records) == 1 and records[0][0] == logging.WARNING
    runner, records = _fake_runner([127.5] * 3, [127.5] * 3)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.after_load_checkpoint(runner, {'meta': {}, 'state_dict': {}})  # no pretrained_cfg
    assert records == []


@pytest.mark.slow
def test_train_from_hub_reference_warns_about_normalisation(tmp_path, digits_root):
    """The user path: load_from=hf-hub:..., converted and logged, the mismatch warned."""
    home = tmp_path / 'hf'
    model = timm_model('mobilenetv2_100', seed=1)
    path = put_in_hub_cache(home, 'mobilenetv2_100.ra_in1k', model, mean=[0.5] * 3, std=[0.5] * 3)
    env = tool_env(str(tmp_path), HF_HOME=str(home))
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py')]
        + [osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'), '--work-dir', 'wd']
        + ['--no-validate', '--cfg-options', 'load_from=hf-hub:timm/mobilenetv2_100.ra_in1k']
        + [f'data_root={digits_root}', 'model.head.num_classes=3', 'train_cfg.max_epochs=1']
        + ['train_dataloader.batch_size=8', 'train_dataloader.dataset.indices=16', *NO_WORKERS],
        str(tmp_path),
        env,
    )
    assert result.returncode == 0, describe(result)
    console = result.stdout + result.stderr
    # The quiet console keeps the header and warnings; the work dir's log file has every line.
    with open(glob.glob(str(tmp_path / 'wd' / '*' / '*.log'))[0]) as f:
        log = f.read()
    assert f"{path} is a timm mobilenetv2_100.ra_in1k checkpoint (timm's own layout)" in log
    assert 'checkpoint weights:' in console
    warnings = [line for line in log.splitlines() if 'expects inputs normalised' in line]
    assert len(warnings) == 1
    assert 'WARNING' in warnings[0]
    assert (
        'mobilenetv2_100.ra_in1k (trained at 224x224) expects inputs normalised with mean '
        in (warnings[0])
    )
    summary = next(line for line in log.splitlines() if 'checkpoint weights:' in line)
    assert '312 tensors loaded' in summary
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')


def test_timm2mmtl_tool_converts_a_hub_reference_once(hf_home, tmp_path, capsys):
    from mmtl_testing import import_tool

    tool = import_tool('tools/model_converters/timm2mmtl.py')
    model = timm_model('mobilenetv2_100', seed=2)
    path = put_in_hub_cache(hf_home, 'mobilenetv2_100.ra_in1k', model)
    dst = str(tmp_path / 'mnv2_mmtl.pth')
    assert tool.main(['hf-hub:timm/mobilenetv2_100.ra_in1k', dst]) == 0
    out = capsys.readouterr().out
    assert f'converted timm mobilenetv2_100.ra_in1k (314 tensors) from {path}' in out
    checkpoint = safe_torch_load(dst)
    assert checkpoint['meta']['pretrained_cfg']['mean'] == [0.485, 0.456, 0.406]
    mm_model = build_mmtl_model('_base_/models/mobilenet_v2_1x.py').eval()
    mm_model.load_state_dict(checkpoint['state_dict'], strict=True)
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), model(inputs), atol=1e-5, rtol=0
        )

    # A timm model of a structure mmpretrain lacks: one clear line, nothing written.
    put_in_hub_cache(hf_home, 'resnet18d.ra2_in1k', timm_model('resnet18d'))
    bad = str(tmp_path / 'bad.pth')
    assert tool_status(tool.main, ['hf-hub:timm/resnet18d.ra2_in1k', bad]) == 1
    assert 'a ResNet with a deep stem (ResNet-C/D)' in capsys.readouterr().err
    assert not osp.exists(bad)
