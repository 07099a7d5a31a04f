"""Tests of safe checkpoint loading, checkpoint downloads and atomic file writes."""

import glob
import http.client
import http.server
import io
import os
import os.path as osp
import shlex
import socket
import stat
import threading
import time
import urllib.request
from fractions import Fraction

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

import mmtl.engine  # noqa: F401  (registers mmtl's checkpoint loaders in mmengine)
from mmtl.utils import (
    CheckpointDownloadError,
    UnsafeCheckpointError,
    atomic_open,
    cached_checkpoint_path,
    download_checkpoint,
    safe_torch_load,
)
from mmtl.utils import checkpoint as mmtl_checkpoint

PROXY_VARS = ('http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY')


# --------------------------------------------------------------------------------------------
# Payloads: objects whose unpickling has a visible side effect (a marker file).
# --------------------------------------------------------------------------------------------


class RunsShellCommand:
    """Unpickling calls ``os.system('touch <marker>')``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {shlex.quote(self.marker)}',))


class CallsArrayMethod:
    """Unpickling calls ``np.ndarray.tofile(marker)``.

    The bound method pickles as ``getattr(<array>, 'tofile')``: the array is an allowed type,
    so only the restriction on ``getattr`` stands between this and a written file.
    """

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (np.arange(3).tofile, (self.marker,))


class GetsAttribute:
    """Unpickling calls ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


def save(obj, path):
    torch.save(obj, str(path))
    return str(path)


def history_buffer():
    buffer = HistoryBuffer()
    buffer.update(1.0)
    buffer.update(3.0, count=2)
    buffer.update(5)
    return buffer  # mean = (1 + 3 + 5) / (1 + 2 + 1) = 2.25


# --------------------------------------------------------------------------------------------
# safe_torch_load
# --------------------------------------------------------------------------------------------


def test_mmengine_style_checkpoint_round_trips(tmp_path):
    hub = MessageHub.get_instance('mmtl-test-checkpoint-round-trip')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', 1.5)
    checkpoint = {
        'meta': {
            'epoch': 3,
            'seed': np.int64(42),
            'best_score': np.float64(0.875),
            'lr': np.float32(0.25),
            'flag': np.bool_(True),
            'dataset_meta': {'classes': ('apple', 'pear')},
        },
        'buffer': history_buffer(),
        'array': np.arange(6, dtype=np.float32).reshape(2, 3),
        'int_array': np.array([[1, -2], [3, 4]], dtype=np.int64),
        'message_hub': hub.state_dict(),
        'state_dict': {'fc.weight': torch.arange(4.0).reshape(2, 2)},
    }
    path = save(checkpoint, tmp_path / 'epoch_3.pth')

    loaded = safe_torch_load(path)

    meta = loaded['meta']
    assert type(meta['seed']) is np.int64 and meta['seed'] == 42
    assert type(meta['best_score']) is np.float64 and meta['best_score'] == 0.875
    assert type(meta['lr']) is np.float32 and meta['lr'] == 0.25
    assert bool(meta['flag']) is True
    assert meta['dataset_meta'] == {'classes': ('apple', 'pear')}
    np.testing.assert_array_equal(loaded['array'], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert loaded['array'].dtype == np.float32
    np.testing.assert_array_equal(loaded['int_array'], [[1, -2], [3, 4]])
    assert loaded['int_array'].dtype == np.int64
    assert torch.equal(loaded['state_dict']['fc.weight'], torch.arange(4.0).reshape(2, 2))

    buffer = loaded['buffer']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(2.25)
    assert buffer.statistics('mean') == pytest.approx(2.25)
    assert buffer.max() == 5 and buffer.min() == 1 and buffer.current() == 5
    buffer.update(7.0)
    assert buffer.mean() == pytest.approx((1 + 3 + 5 + 7) / 5)

    loss = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.mean() == pytest.approx(1.0)


def test_missing_file_raises_file_not_found(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(missing)


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'pwned'
    path = save({'state_dict': {}, 'meta': RunsShellCommand(marker)}, tmp_path / 'evil.pth')

    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(path)

    assert path in str(info.value)
    assert not marker.exists()
    # The payload is live: an unrestricted load would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_getattr_reaching_an_array_method_is_refused(tmp_path):
    marker = tmp_path / 'written_by_tofile'
    path = save({'meta': CallsArrayMethod(marker)}, tmp_path / 'evil_getattr.pth')

    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(path)

    assert path in str(info.value)
    assert not marker.exists()
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize(
    'obj, name',
    [
        (np.zeros(2), 'tofile'),
        (np.zeros(2), 'dump'),
        (HistoryBuffer, 'update'),
        (HistoryBuffer, 'register_statistics'),
        (HistoryBuffer, '__init__'),
    ],
    ids=['ndarray.tofile', 'ndarray.dump', 'HistoryBuffer.update', 'register', 'init'],
)
def test_getattr_other_than_history_buffer_statistics_is_refused(tmp_path, obj, name):
    path = save({'x': GetsAttribute(obj, name)}, tmp_path / 'getattr.pth')
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        safe_torch_load(path)


def test_trusted_env_var_admits_exactly_the_listed_file(tmp_path, monkeypatch):
    path = save({'ratio': Fraction(1, 3)}, tmp_path / 'legacy.pth')
    other = save({'ratio': Fraction(2, 3)}, tmp_path / 'other.pth')

    monkeypatch.delenv('MMTL_TRUSTED_CHECKPOINTS', raising=False)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(path)
    assert 'MMTL_TRUSTED_CHECKPOINTS' in str(info.value)

    # Another file listed: still refused.
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', other)
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(path)

    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', path)
    assert safe_torch_load(path) == {'ratio': Fraction(1, 3)}
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(other)

    # Several files, separated by os.pathsep.
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', os.pathsep.join([other, path]))
    assert safe_torch_load(path) == {'ratio': Fraction(1, 3)}
    assert safe_torch_load(other) == {'ratio': Fraction(2, 3)}


def test_trusted_env_var_does_not_cover_files_beside_the_listed_one(tmp_path, monkeypatch):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    trusted = save({'ratio': Fraction(1, 3)}, tmp_path / 'a' / 'model.pth')
    same_name = save({'ratio': Fraction(1, 3)}, tmp_path / 'b' / 'model.pth')
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', trusted)
    assert safe_torch_load(trusted) == {'ratio': Fraction(1, 3)}
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(same_name)
    # Nor a folder listed instead of a file.
    monkeypatch.setenv('MMTL_TRUSTED_CHECKPOINTS', str(tmp_path / 'b'))
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(same_name)


def test_mmengine_checkpoint_loader_uses_safe_loader(tmp_path):
    marker = tmp_path / 'pwned'
    path = save({'state_dict': {}, 'meta': RunsShellCommand(marker)}, tmp_path / 'evil.pth')

    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path)
    assert not marker.exists()

    # And mmengine's own checkpoint contents (refused by plain weights_only) load through it.
    good = save({'meta': {'buffer': history_buffer()}}, tmp_path / 'good.pth')
    assert CheckpointLoader.load_checkpoint(good)['meta']['buffer'].mean() == pytest.approx(2.25)


def test_load_checkpoint_into_model(tmp_path):
    model = torch.nn.Linear(2, 1)
    weight = torch.tensor([[0.5, -2.0]])
    bias = torch.tensor([3.0])
    hub = MessageHub.get_instance('mmtl-test-load-into-model')
    hub.update_scalar('train/loss', 2.0)
    path = save(
        {
            'state_dict': {'weight': weight, 'bias': bias},
            'meta': {'epoch': np.int64(1)},
            'message_hub': hub.state_dict(),
        },
        tmp_path / 'epoch_1.pth',
    )
    load_checkpoint(model, path, map_location='cpu')
    assert torch.equal(model.weight.data, weight)
    assert torch.equal(model.bias.data, bias)


# --------------------------------------------------------------------------------------------
# URLs and the download cache
# --------------------------------------------------------------------------------------------

URL = 'https://download.example.invalid/models/net_20240101-0123abcd.pth'


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a URL fail the test; yields the list of attempted URLs."""
    attempts = []

    def urlopen(url, *args, **kwargs):
        attempts.append(url)
        raise AssertionError(f'unexpected network access to {url}')

    monkeypatch.setattr(urllib.request, 'urlopen', urlopen)
    return attempts


def test_cache_path_is_under_torch_home(torch_home):
    path = cached_checkpoint_path(URL)
    assert path == osp.join(str(torch_home), 'hub', 'checkpoints', 'net_20240101-0123abcd.pth')


def assert_helpful_download_error(err, url):
    message = str(err)
    assert url in message
    assert cached_checkpoint_path(url) in message
    assert '--cfg-options load_from=' in message


def test_offline_url_raises_helpful_error(torch_home, monkeypatch, no_network):
    monkeypatch.setenv('MMTL_OFFLINE', '1')

    with pytest.raises(CheckpointDownloadError) as info:
        download_checkpoint(URL)
    assert_helpful_download_error(info.value, URL)

    with pytest.raises(CheckpointDownloadError) as info:
        CheckpointLoader.load_checkpoint(URL)
    assert_helpful_download_error(info.value, URL)

    assert no_network == []
    assert not osp.exists(cached_checkpoint_path(URL))


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_unreachable_url_raises_helpful_error_quickly(torch_home, monkeypatch):
    monkeypatch.delenv('MMTL_OFFLINE', raising=False)
    url = f'http://127.0.0.1:{closed_port()}/x.pth'

    start = time.monotonic()
    with pytest.raises(CheckpointDownloadError) as info:
        CheckpointLoader.load_checkpoint(url)
    elapsed = time.monotonic() - start

    assert_helpful_download_error(info.value, url)
    assert elapsed < 5
    checkpoint_dir = osp.dirname(cached_checkpoint_path(url))
    assert not glob.glob(osp.join(checkpoint_dir, '*')) + glob.glob(osp.join(checkpoint_dir, '.*'))


@pytest.mark.parametrize('offline', ['1', None], ids=['offline', 'online'])
def test_cached_url_loads_without_network(torch_home, monkeypatch, no_network, offline):
    if offline is None:
        monkeypatch.delenv('MMTL_OFFLINE', raising=False)
    else:
        monkeypatch.setenv('MMTL_OFFLINE', offline)
    cached = cached_checkpoint_path(URL)
    os.makedirs(osp.dirname(cached))
    weight = torch.tensor([1.0, -2.0, 3.0])
    save({'state_dict': {'w': weight}, 'meta': {'buffer': history_buffer()}}, cached)

    checkpoint = CheckpointLoader.load_checkpoint(URL)

    assert torch.equal(checkpoint['state_dict']['w'], weight)
    assert checkpoint['meta']['buffer'].mean() == pytest.approx(2.25)
    assert download_checkpoint(URL) == cached
    assert no_network == []


def test_cached_url_with_malicious_content_is_refused(torch_home, monkeypatch, tmp_path):
    monkeypatch.setenv('MMTL_OFFLINE', '1')
    marker = tmp_path / 'pwned'
    cached = cached_checkpoint_path(URL)
    os.makedirs(osp.dirname(cached))
    save({'meta': RunsShellCommand(marker)}, cached)

    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(URL)
    assert cached in str(info.value)
    assert not marker.exists()


class CheckpointServer:
    """A local HTTP server with one checkpoint; ``mode`` picks how it answers."""

    def __init__(self, body):
        self.body = body
        self.mode = 'ok'
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def do_GET(self):
                server.requests.append(self.path)
                if server.mode == 'missing':
                    self.send_error(404)
                    return
                if server.mode == 'truncated_chunked':
                    # A chunk announced as 0x400 bytes, cut off after 100.
                    self.send_response(200)
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    self.wfile.write(b'400\r\n' + server.body[:100])
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(len(server.body)))
                self.end_headers()
                if server.mode == 'truncated':
                    # The connection drops half-way through the advertised length.
                    self.wfile.write(server.body[: len(server.body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, name):
        return f'http://127.0.0.1:{self.httpd.server_address[1]}/models/{name}'

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def checkpoint_server(torch_home, monkeypatch):
    monkeypatch.delenv('MMTL_OFFLINE', raising=False)
    buffer = io.BytesIO()
    torch.save({'state_dict': {'w': torch.arange(2000.0)}}, buffer)
    server = CheckpointServer(buffer.getvalue())
    yield server
    server.close()


def test_url_is_downloaded_once_into_the_cache(checkpoint_server):
    url = checkpoint_server.url('served.pth')

    first = CheckpointLoader.load_checkpoint(url)
    second = CheckpointLoader.load_checkpoint(url)

    assert torch.equal(first['state_dict']['w'], torch.arange(2000.0))
    assert torch.equal(second['state_dict']['w'], torch.arange(2000.0))
    assert checkpoint_server.requests == ['/models/served.pth']
    with open(cached_checkpoint_path(url), 'rb') as f:
        assert f.read() == checkpoint_server.body


def leftovers(directory):
    if not osp.isdir(directory):
        return []
    return sorted(os.listdir(directory))


@pytest.mark.parametrize(
    'mode,name',
    [
        ('missing', 'missing.pth'),
        ('truncated', 'truncated.pth'),
        ('truncated_chunked', 'chunked.pth'),
    ],
    ids=['http-404', 'shorter-than-content-length', 'broken-chunked-transfer'],
)
def test_failed_download_raises_download_error_and_caches_nothing(checkpoint_server, mode, name):
    checkpoint_server.mode = mode
    url = checkpoint_server.url(name)

    with pytest.raises(CheckpointDownloadError) as info:
        download_checkpoint(url)

    assert_helpful_download_error(info.value, url)
    assert leftovers(osp.dirname(cached_checkpoint_path(url))) == []


def test_only_rank_zero_downloads(torch_home, monkeypatch, no_network):
    monkeypatch.delenv('MMTL_OFFLINE', raising=False)
    barriers = []
    monkeypatch.setattr(mmtl_checkpoint, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(mmtl_checkpoint, 'barrier', lambda: barriers.append(1))

    # Rank 1 waits for rank 0, and does not download itself when the file did not appear.
    with pytest.raises(CheckpointDownloadError, match='rank 1'):
        download_checkpoint(URL)
    assert no_network == []
    assert barriers == [1]

    cached = cached_checkpoint_path(URL)
    os.makedirs(osp.dirname(cached))
    save({'w': torch.ones(1)}, cached)
    assert download_checkpoint(URL) == cached
    assert barriers == [1, 1]


# --------------------------------------------------------------------------------------------
# atomic_open
# --------------------------------------------------------------------------------------------


def temp_files(directory):
    return glob.glob(osp.join(str(directory), '.*.tmp'))


@pytest.mark.parametrize('mode, old, new', [('wb', b'old', b'new data'), ('w', 'old', 'new')])
def test_atomic_open_replaces_content_when_complete(tmp_path, mode, old, new):
    path = tmp_path / 'file.bin'
    with open(path, mode) as f:
        f.write(old)

    with atomic_open(str(path), mode) as f:
        f.write(new)
        # Until the block ends, readers still see the old content.
        with open(path, 'rb') as g:
            assert g.read() == (old if isinstance(old, bytes) else old.encode())

    with open(path, 'rb') as g:
        assert g.read() == (new if isinstance(new, bytes) else new.encode())
    assert temp_files(tmp_path) == []


def test_atomic_open_creates_missing_folders(tmp_path):
    path = tmp_path / 'a' / 'b' / 'c.txt'
    with atomic_open(str(path), 'w') as f:
        f.write('hello')
    assert path.read_text() == 'hello'


@pytest.mark.parametrize('error', [RuntimeError, KeyboardInterrupt])
def test_atomic_open_keeps_old_content_on_error(tmp_path, error):
    path = tmp_path / 'checkpoint.pth'
    path.write_bytes(b'previous checkpoint')

    with pytest.raises(error):
        with atomic_open(str(path), 'wb') as f:
            f.write(b'half of a new')
            raise error('interrupted')

    assert path.read_bytes() == b'previous checkpoint'
    assert temp_files(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ['checkpoint.pth']


def test_atomic_open_error_on_new_file_leaves_nothing(tmp_path):
    path = tmp_path / 'new.pth'
    with pytest.raises(ValueError):
        with atomic_open(str(path)) as f:
            f.write(b'partial')
            raise ValueError('boom')
    assert os.listdir(tmp_path) == []


def test_atomic_open_gives_new_files_the_usual_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / 'metrics.json'
        with atomic_open(str(path), 'w') as f:
            f.write('{}')
        plain = tmp_path / 'plain.json'
        with open(plain, 'w') as f:
            f.write('{}')
    finally:
        os.umask(old_umask)
    if stat.S_IMODE(os.stat(plain).st_mode) != 0o644:
        pytest.skip('this file system does not apply the umask to new files')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_atomic_open_rejects_other_modes(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(str(tmp_path / 'x'), 'a'):
            pass
    assert os.listdir(tmp_path) == []
