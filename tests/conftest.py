"""Shared fixtures: small real datasets written to temporary folders, and a tool runner."""

import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import List, Optional

import cv2
import numpy as np
import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Overrides that keep the digits config small and single-process inside tests.
NO_WORKERS = [
    'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
]


def tool_env(tmp_dir: str, **extra: str) -> dict:
    """Environment for tool subprocesses: offline, private torch cache, quiet warnings."""
    env = dict(os.environ)
    env.update(
        PYTHONWARNINGS='ignore',
        TORCH_HOME=osp.join(tmp_dir, 'torch_home'),
        MMTL_OFFLINE='1',
        CUDA_VISIBLE_DEVICES='',
        # One intra-op thread per tool process: the tests run tools one after another on
        # small batches, and on a shared 2-core machine torch's default threads oversubscribe.
        OMP_NUM_THREADS='1',
    )
    env.update(extra)
    return env


def run_command(
    args: List[str], cwd: str, env: Optional[dict] = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run a command, capturing its output as text."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=env or tool_env(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def describe(result: subprocess.CompletedProcess) -> str:
    """The tail of a command's output, for assertion messages."""
    return f'exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}'


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


def write_color_folder(root: str, classes: dict, per_class: int, size: int = 48) -> None:
    """Write ``root/<split>/<class>/*.jpg`` photos whose colour identifies the class.

    Args:
        root (str): Dataset root.
        classes (dict): Class name -> BGR colour.
        per_class (int): Images per class in each of train/val/test.
        size (int): Image side. Defaults to 48.
    """
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        for name, color in classes.items():
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                noise = rng.integers(-30, 30, size=(size, size, 3))
                img = np.clip(np.array(color)[None, None] + noise, 0, 255).astype(np.uint8)
                cv2.imwrite(osp.join(folder, f'{i:03d}.jpg'), img)


@pytest.fixture(scope='session')
def fruit_root(tmp_path_factory) -> str:
    """A tiny dataset in the fruit30 layout: three 'fruits' told apart by colour."""
    root = str(tmp_path_factory.mktemp('fruit30_split'))
    write_color_folder(
        root, {'apple': (40, 40, 200), 'banana': (40, 220, 230), 'kiwi': (60, 160, 60)}, 4
    )
    return root


def import_tool(relative_path: str):
    """Import a script under ``tools/`` as a module, to call its ``main(argv)`` in-process.

    Args:
        relative_path (str): Path from the repository root, e.g.
            ``'tools/analysis_tools/model_summary.py'``.

    Returns:
        module: The imported script (its ``__name__`` is not ``'__main__'``).
    """
    import importlib.util

    path = osp.join(REPO_ROOT, relative_path)
    name = 'mmtl_tool_' + osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
