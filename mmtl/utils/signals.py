"""Stopping a training process cleanly: stop signals, Ctrl-C, and a launcher that goes away.

:class:`StopRequest` records SIGTERM/SIGINT instead of dying, so the trainer finishes its
iteration and writes a resumable checkpoint (:class:`mmtl.engine.hooks.GracefulStopHook`).
``mim train`` SIGKILLs its child soon after a Ctrl-C, so :func:`run_in_child` lets
``tools/train.py`` train in a child of its own that outlives the launcher long enough.
"""

import os
import signal
import subprocess
import sys
import threading
from typing import Callable, Dict, Optional

#: The signals that ask a trainer to stop at the next iteration.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Set by :func:`run_in_child` in the trainer's environment: the launcher's process id.
LAUNCHER_ENV = 'MMTL_LAUNCHER_PID'
#: How often (seconds) the launcher checks whether its own parent has exited.
PARENT_POLL_S = 0.5


def exit_code_of(signum: int) -> int:
    """The shell's exit status for a process stopped by ``signum``: 128 + the number."""
    return 128 + int(signum)


def parent_exited(parent: int) -> bool:
    """Whether the process that started this one (``parent``, its id then) has exited.

    An orphan is adopted by another process (init, a sub-reaper), so its parent id changes.
    """
    return os.getppid() != parent


class StopRequest:
    """Records the first stop signal instead of letting it end the process.

    Later signals are only noted (the same stop may come two or three times). Processes
    forked after :meth:`install` (dataloader workers) ignore SIGINT, so that the trainer
    alone stops them after a Ctrl-C, and die of SIGTERM as usual.

    Args:
        on_signal (Callable, optional): Called with the signal number on every signal.
    """

    def __init__(self, on_signal: Optional[Callable[[int], None]] = None) -> None:
        self.on_signal = on_signal
        self.signum: Optional[int] = None
        self._previous: Dict[int, object] = {}
        self._pid: Optional[int] = None

    def install(self) -> bool:
        """Catch the signals (only possible in the main thread). Returns whether it did."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._pid = os.getpid()
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return True

    def restore(self) -> None:
        """Put the handlers back that were there before :meth:`install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @property
    def requested(self) -> bool:
        """Whether a stop signal came."""
        return self.signum is not None

    def _handle(self, signum: int, frame) -> None:
        if os.getpid() != self._pid:  # a forked child (a dataloader worker)
            if signum != signal.SIGINT:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        if self.signum is None:
            self.signum = signum
        if self.on_signal is not None:
            self.on_signal(signum)


def run_in_child(func: Callable[[], int]) -> int:
    """Run ``func`` in a child process (this script again), unless this is that child.

    The launcher passes SIGTERM and SIGINT on to the child, sends it SIGTERM when its own
    parent exits, and returns its exit code. A killed launcher makes the trainer stop after
    its iteration (:class:`mmtl.engine.hooks.GracefulStopHook`).

    Args:
        func (Callable[[], int]): The tool's main function; returns the exit code.

    Returns:
        int: The exit code: the child's, or 128 + N when it died of signal N.
    """
    if os.environ.get(LAUNCHER_ENV) == str(os.getppid()):
        return func()  # the trainer
    sys.stdout.flush()
    sys.stderr.flush()
    env = dict(os.environ, **{LAUNCHER_ENV: str(os.getpid())})
    child = subprocess.Popen([sys.executable, *sys.orig_argv[1:]], env=env)
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda received, frame: child.send_signal(received))
    parent = os.getppid()
    while True:
        try:
            code = child.wait(timeout=PARENT_POLL_S)
            break
        except subprocess.TimeoutExpired:
            if parent_exited(parent):  # mim dies of SIGTERM without passing it on
                child.send_signal(signal.SIGTERM)
                parent = os.getppid()
    return exit_code_of(-code) if code < 0 else code
