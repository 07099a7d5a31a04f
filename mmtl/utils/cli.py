"""Helpers shared by the command-line tools, and ``python -m mmtl`` (the ``mmtl`` command)."""

import argparse
import ast
import difflib
import os
import os.path as osp
import signal
import sys
from typing import Callable, List, NoReturn, Optional, Tuple

from .errors import ConfigError, UserError
from .signals import exit_code_of

#: The errors whose message says everything a user needs: printed without a traceback (every
#: checkpoint, config and data error of mmtl is a :class:`~.errors.UserError`).
USER_ERRORS = (UserError, FileNotFoundError)


def add_image_size_argument(parser: argparse.ArgumentParser, flag: str) -> None:
    """Add ``FLAG H [W]``: the network input size, read with :func:`image_size_from_args`.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        flag (str): The option, e.g. ``'--shape'`` (get_flops) or ``'--input-size'``.
    """
    parser.add_argument(
        flag,
        type=int,
        nargs='+',
        metavar='H [W]',
        help='input size H [W] (default: the size the test pipeline produces)',
    )


def image_size_from_args(values: Optional[List[int]], flag: str) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of ``FLAG H [W]`` (a square for one value); None when it was not given.

    Args:
        values (list[int], optional): What argparse read.
        flag (str): The option, for the error.

    Returns:
        tuple[int, int] | None: Height and width.

    Raises:
        ConfigError: Not one or two values, or a value below 1.
    """
    if values is None:
        return None
    if len(values) not in (1, 2) or min(values) < 1:
        raise ConfigError(f'{flag} {values}: give H or H W (whole numbers >= 1)')
    return values[0], values[-1]


#: ``mim`` sub-commands that run an mmtl tool as a child process with ``check_call``.
MIM_COMMANDS = ('train', 'test', 'run', 'gridsearch')


def mim_command() -> Optional[str]:
    """The ``mim`` sub-command (train/test/run/gridsearch) that started this process, if any.

    Returns:
        str | None: None also where the parent cannot be inspected (gone, no permission).
    """
    import psutil

    try:
        argv = psutil.Process(os.getppid()).cmdline()
    except psutil.Error:
        return None
    for index, arg in enumerate(argv[:3]):  # mim, or python [-m] mim
        if osp.basename(arg) == 'mim':
            command = argv[index + 1] if len(argv) > index + 1 else None
            return command if command in MIM_COMMANDS else None
    return None


def exit_tool(main: Callable[[], Optional[int]]) -> NoReturn:
    """Run a tool's ``main`` and exit with its status: every failure is one line.

    A user error (:data:`USER_ERRORS`) is one line and status 1, Ctrl-C ``interrupted`` and
    130 (:func:`run_with_clear_errors`); argparse's usage line keeps its status 2.

    Args:
        main (Callable): The tool's ``main()``; returns (or exits with) the status.
    """
    try:
        code = run_with_clear_errors(main)
    except SystemExit as exit_:
        code = exit_.code
    sys.stdout.flush()
    sys.stderr.flush()
    if code and mim_command():
        # mim runs the tool with check_call: a non-zero exit would add its CalledProcessError
        # traceback after the one-line error. Interrupted while it waits,
        # mim (click) says "Aborted!" and exits 1 instead.
        os.kill(os.getppid(), signal.SIGINT)
    sys.exit(code)


def run_with_clear_errors(func: Callable[[], Optional[int]]) -> int:
    """Run ``func``; report a user error in one clear line instead of a traceback.

    A Ctrl-C before training has started (or in a tool without a checkpoint to write) is
    one line too.

    Returns:
        int: The process exit code: ``func``'s (0 for None), 1 on a user error, 130 on Ctrl-C.
    """
    try:
        return func() or 0
    except USER_ERRORS as err:
        from .prediction_rows import safe_text  # names in a message are data from outside

        print(safe_text(f'error: {err}'), file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr, flush=True)
        return exit_code_of(signal.SIGINT)


def find_tools() -> dict:
    """Every Python tool of mmtl (``mmtl/.mim/tools`` installed, else the checkout's ``tools``):
    the name ``mim run mmtl`` takes -> (path, summary).

    A name two tools share is given as ``folder:name`` (mim's form for such tools); the
    summary is the first line of the tool's docstring.

    Returns:
        dict: ``{name: (path, summary)}``, sorted by name.
    """
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    folder = osp.join(package, '.mim', 'tools')
    if not osp.isdir(folder):
        folder = osp.join(osp.dirname(package), 'tools')
    found = {}
    for parent, _, files in os.walk(folder):
        for name in files:
            if name.endswith('.py') and not name.startswith('_'):
                path = osp.join(parent, name)
                with open(path, encoding='utf-8') as f:
                    doc = ast.get_docstring(ast.parse(f.read())) or ''
                found[osp.relpath(path, folder)[: -len('.py')]] = (path, doc.strip().split('\n')[0])
    bare = [osp.basename(relative) for relative in found]
    named = {
        relative.replace(os.sep, ':')
        if bare.count(osp.basename(relative)) > 1
        else osp.basename(relative): entry
        for relative, entry in found.items()
    }
    return dict(sorted(named.items()))


def print_tools(usage: str = "usage: mmtl TOOL [ARGS]  (a tool's help: mmtl TOOL -h)") -> None:
    """Print ``usage``, then every tool with its one-line summary."""
    tools = find_tools()
    width = max(len(name) for name in tools)
    print(usage)
    for name, (_, summary) in tools.items():
        print(f'  {name:<{width}}  {summary}')


def main(argv: Optional[List[str]] = None) -> int:
    """``mmtl [TOOL [ARGS]]`` (``python -m mmtl``): list the tools, or run one as ``mim run``.

    The tool replaces this process, so its output, help and exit status are the user's.

    Returns:
        int: 0 after the list; 2 for a tool that does not exist.
    """
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ('-h', '--help'):
        print_tools()
        return 0
    tools = find_tools()
    if argv[0] not in tools:
        close = difflib.get_close_matches(argv[0], list(tools), n=3)
        hint = f' (did you mean {" or ".join(close)}?)' if close else ''
        print(f"mmtl: no tool {argv[0]!r}{hint}; 'mmtl' lists them", file=sys.stderr)
        return 2
    path = tools[argv[0]][0]
    os.execv(sys.executable, [sys.executable, path, *argv[1:]])
