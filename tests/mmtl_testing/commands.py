"""Paths, tool subprocesses and in-process tool imports shared by the tests."""

import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Callable, List, Optional

#: The repository root (this file is tests/mmtl_testing/commands.py).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

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


def run_probe(code: str, tmp_dir: str, timeout: int = 300):
    """Run ``code`` in a fresh interpreter (repository root, :func:`tool_env`) and return the
    JSON it printed after ``REPORT`` on its last such line.

    A fresh interpreter is what start-up tests need: what a module imports can only be seen
    from a clean ``sys.modules``.
    """
    result = run_command([sys.executable, '-c', code], REPO_ROOT, tool_env(tmp_dir), timeout)
    assert result.returncode == 0, describe(result)
    line = [x for x in result.stdout.splitlines() if x.startswith('REPORT')][-1]
    return json.loads(line[len('REPORT') :])


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


def tool_status(main: Callable[[List[str]], int], argv: List[str]) -> int:
    """The exit status of a tool's ``main(argv)`` run as its script runs it, through
    ``exit_tool`` (which makes a user error one line and status 1).

    Args:
        main (Callable): The tool's ``main``, e.g. of a module from :func:`import_tool`.
        argv (list[str]): The command-line arguments.

    Returns:
        int: The status the script exits with.
    """
    from mmtl.utils.cli import exit_tool

    try:
        exit_tool(lambda: main(argv))
    except SystemExit as exit_:
        return exit_.code


def free_port() -> int:
    """A TCP port that is free on this machine now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
