"""Bounds before work: a small checkpoint file cannot make the loader allocate gigabytes, and
``MMTL_OFFLINE=1`` reaches timm and huggingface_hub too."""

import os
import subprocess
import sys
import time
import zipfile

import pytest
import torch
from mmtl_testing import REPO_ROOT

from mmtl.utils.checkpoint import NotACheckpointError, safe_torch_load


def rewrite_record(path: str, out: str, record_suffix: str, data: bytes, compress: int) -> None:
    """Copy a torch zip, replacing one record's bytes (and its compression)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, 'w') as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename.endswith(record_suffix):
                payload = data
                info.compress_type = compress
            dst.writestr(info, payload, compress_type=info.compress_type)


def test_a_compressed_record_that_inflates_is_refused_before_reading(tmp_path):
    path = str(tmp_path / 'small.pth')
    torch.save({'state_dict': {'w': torch.zeros(4)}}, path)
    bomb = str(tmp_path / 'bomb.pth')
    rewrite_record(path, bomb, 'data/0', b'\0' * (64 << 20), zipfile.ZIP_DEFLATED)
    assert os.path.getsize(bomb) < 1 << 20  # 64 MB of zeros deflate to well under 1 MB
    start = time.monotonic()
    with pytest.raises(NotACheckpointError, match=r"bomb.pth \(record .*data/0' is compressed"):
        safe_torch_load(bomb)
    assert time.monotonic() - start < 5


def test_a_record_declaring_more_bytes_than_the_file_holds_is_refused(tmp_path):
    path = str(tmp_path / 'small.pth')
    torch.save({'state_dict': {'w': torch.zeros(4)}}, path)
    liar = str(tmp_path / 'liar.pth')
    with open(path, 'rb') as f:
        data = bytearray(f.read())
    # The central directory's uncompressed size of the tensor record: 16 -> 2**31.
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith('data/0'))
    directory = data.rfind(b'PK\x01\x02', 0, len(data))
    while directory != -1:
        name_length = int.from_bytes(data[directory + 28 : directory + 30], 'little')
        name = bytes(data[directory + 46 : directory + 46 + name_length]).decode()
        if name == info.filename:
            data[directory + 24 : directory + 28] = (1 << 31).to_bytes(4, 'little')
            break
        directory = data.rfind(b'PK\x01\x02', 0, directory)
    with open(liar, 'wb') as f:
        f.write(bytes(data))
    with pytest.raises(NotACheckpointError, match='declares 2147483648 bytes'):
        safe_torch_load(liar)


def test_a_normal_checkpoint_still_loads(tmp_path):
    path = str(tmp_path / 'ok.pth')
    torch.save({'state_dict': {'w': torch.arange(4.0)}}, path)
    assert safe_torch_load(path)['state_dict']['w'].tolist() == [0.0, 1.0, 2.0, 3.0]


_TIMM_PROBE = r"""
import mmtl
from mmengine.registry import MODELS, init_default_scope
init_default_scope('mmpretrain')
import mmpretrain.models  # noqa: F401
try:
    MODELS.build(dict(type='TIMMBackbone', model_name='resnet18.a1_in1k', pretrained=True))
    print('BUILT')
except Exception as err:
    print('REFUSED', type(err).__name__)
"""


class CountingHub:
    """A hub endpoint on loopback that counts the requests it gets (and answers 404)."""

    def __init__(self):
        import http.server
        import threading

        self.requests = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                requests.append(self.path)
                self.send_response(404)
                self.send_header('Content-Length', '0')
                self.end_headers()

            do_GET = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'


@pytest.mark.slow
@pytest.mark.parametrize('offline', ['1', '0'])
def test_mmtl_offline_reaches_timm_and_the_hub(tmp_path, offline):
    """With MMTL_OFFLINE=1 timm's pretrained download asks the hub nothing; without, it asks."""
    pytest.importorskip('timm')
    hub = CountingHub()
    env = dict(
        os.environ,
        MMTL_OFFLINE=offline,
        HF_HOME=str(tmp_path / 'hf'),
        HF_ENDPOINT=hub.url,
        PYTHONPATH=REPO_ROOT,
    )
    env.pop('HF_HUB_OFFLINE', None)
    try:
        result = subprocess.run(
            [sys.executable, '-c', _TIMM_PROBE],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        hub.server.shutdown()
    assert 'REFUSED' in result.stdout, result.stdout + result.stderr
    assert (len(hub.requests) == 0) == (offline == '1'), hub.requests
