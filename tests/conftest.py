"""Shared fixtures: small real datasets written to temporary folders, and a tool runner."""

import contextlib
import errno
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from mmtl_testing import REPO_ROOT, describe, run_command, write_color_folder


@pytest.fixture(scope='session', autouse=True)
def private_mmtl_cache(tmp_path_factory):
    """Scan caches of the test run go to a temporary folder, not the user's ~/.cache/mmtl."""
    previous = os.environ.get('MMTL_CACHE_DIR')
    os.environ['MMTL_CACHE_DIR'] = str(tmp_path_factory.mktemp('mmtl_cache'))
    yield
    if previous is None:
        os.environ.pop('MMTL_CACHE_DIR', None)
    else:
        os.environ['MMTL_CACHE_DIR'] = previous


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory) -> str:
    """scikit-learn digits 0, 1 and 2 as data/{train,val,test}/<digit>/*.png (real data)."""
    from mmtl.datasets.digits import write_digits_folder

    root = str(tmp_path_factory.mktemp('digits'))
    write_digits_folder(root, ratios=(0.6, 0.2, 0.2), seed=0, keep=[0, 1, 2])
    return root


@pytest.fixture(scope='session')
def all_digits_root(tmp_path_factory) -> str:
    """All ten scikit-learn digits, split 0.6/0.2/0.2 as in the demo (real data)."""
    from mmtl.datasets.digits import write_digits_folder

    root = str(tmp_path_factory.mktemp('all_digits'))
    write_digits_folder(root, ratios=(0.6, 0.2, 0.2), seed=0)
    return root


@pytest.fixture(scope='session')
def fruit_root(tmp_path_factory) -> str:
    """A tiny dataset in the fruit30 layout: three 'fruits' told apart by colour."""
    root = str(tmp_path_factory.mktemp('fruit30_split'))
    write_color_folder(
        root, {'apple': (40, 40, 200), 'banana': (40, 220, 230), 'kiwi': (60, 160, 60)}, 4
    )
    return root


@pytest.fixture
def one_thread():
    """Run torch on one thread for the test. On a loaded 2-core machine, two intra-op
    threads spin against each other: a MobileNet-v2 training step measured 16x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def normal_install(tmp_path_factory) -> str:
    """``pip install --target SITE`` of a copy of this checkout (a normal, copying install).

    Returns:
        str: ``SITE``, to put on ``PYTHONPATH``.
    """
    tmp = tmp_path_factory.mktemp('normal_install')
    source = tmp / 'src'
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if osp.isfile(osp.join(REPO_ROOT, name)):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(osp.join(REPO_ROOT, name), source / name)
    site = tmp / 'site'
    install = run_command(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation']
        + ['--target', str(site), str(source)],
        cwd=str(tmp),
    )
    assert install.returncode == 0, describe(install)
    return str(site)


@pytest.fixture
def disk_full_at(monkeypatch):
    """``disk_full_at(name, after=0)``: the write of ``name`` after ``after`` good ones fails
    half-way with ENOSPC."""
    from mmtl.engine.hooks import atomic_checkpoint_hook

    real_atomic_open = atomic_checkpoint_hook.atomic_open
    good_writes_left = {}

    class HalfThenFull:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, 'No space left on device')

    @contextlib.contextmanager
    def atomic_open(path, mode='wb'):
        name = osp.basename(path)
        fail = good_writes_left.get(name) == 0
        if name in good_writes_left:
            good_writes_left[name] -= 1
        with real_atomic_open(path, mode) as f:
            yield HalfThenFull(f) if fail else f

    monkeypatch.setattr(atomic_checkpoint_hook, 'atomic_open', atomic_open)

    def fail_at(name, after=0):
        good_writes_left[name] = after

    return fail_at
