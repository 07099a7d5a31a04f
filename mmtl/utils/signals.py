"""Stopping a training process cleanly: stop signals, and stopping with the parent process.

A preempted job (slurm, a cloud spot instance, ``kill``, Ctrl-C) gets SIGTERM or SIGINT and a
few seconds before SIGKILL. :class:`StopRequest` records such a signal instead of dying, so
that the trainer can finish its iteration and write a resumable checkpoint
(:class:`mmtl.engine.hooks.GracefulStopHook`).

``mim train`` runs ``tools/train.py`` as a child and dies on SIGTERM without passing it on;
on SIGINT it kills its child with SIGKILL a quarter of a second later. :func:`run_guarded`
therefore trains in a grandchild that mim does not know about: the kernel sends it SIGTERM
when its parent dies (``PR_SET_PDEATHSIG``), and the parent forwards the signals it gets.
"""

import ctypes
import os
import signal
import sys
import threading
from typing import Callable, Dict, Optional, Sequence

#: ``prctl`` option: the signal the kernel sends a process when its parent exits (Linux).
PR_SET_PDEATHSIG = 1
#: The signals that ask a trainer to stop at the next iteration.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code_of(signum: int) -> int:
    """The shell's exit status for a process stopped by ``signum``: 128 + the number."""
    return 128 + int(signum)


def stop_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent process exits.

    Args:
        signum (int): The signal. Defaults to SIGTERM (a clean stop, see :class:`StopRequest`).

    Returns:
        bool: Whether it was set (False off Linux or where ``prctl`` is missing).
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class StopRequest:
    """Records the first stop signal instead of letting it end the process.

    Later signals are only noted (a job scheduler or a forwarding parent may deliver the same
    stop twice); SIGKILL still stops at once. Processes forked after :meth:`install`
    (dataloader workers, scan pools) inherit the handler but keep the signals' usual meaning:
    they die, so that whoever terminates them is not left waiting.

    Args:
        signals (Sequence[int]): Signals to catch. Defaults to :data:`STOP_SIGNALS`.
        on_signal (Callable, optional): Called with the signal number on every signal.
    """

    def __init__(
        self,
        signals: Sequence[int] = STOP_SIGNALS,
        on_signal: Optional[Callable[[int], None]] = None,
    ) -> None:
        self.signals = tuple(signals)
        self.on_signal = on_signal
        self.signum: Optional[int] = None
        self._previous: Dict[int, object] = {}
        self._pid: Optional[int] = None

    def install(self) -> bool:
        """Catch the signals (only possible in the main thread). Returns whether it did."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._pid = os.getpid()
        for signum in self.signals:
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
        if os.getpid() != self._pid:  # a forked child: the signal's default action
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.signum is None:
            self.signum = signum
        if self.on_signal is not None:
            self.on_signal(signum)


#: Set in the trainer child of :func:`run_guarded`: its parent is the guardian, not the
#: process that started the tool (mim, a shell).
_IN_GUARDED_CHILD = False


def in_guarded_child() -> bool:
    """Whether this process is the trainer that :func:`run_guarded` forked."""
    return _IN_GUARDED_CHILD


def run_guarded(func: Callable[[], int]) -> int:
    """Run ``func`` in a child process that stops cleanly whatever happens to this one.

    The child gets SIGTERM from the kernel when this process dies (even by SIGKILL), and
    this process forwards SIGTERM and SIGINT to it (a Ctrl-C, which reaches both, is then
    delivered twice: :class:`StopRequest` counts it once). Off Linux ``func`` runs in-process.

    Args:
        func (Callable[[], int]): Returns the exit code (it may also raise ``SystemExit``).

    Returns:
        int: The child's exit code; 128 + N when it died of signal N.
    """
    if not sys.platform.startswith('linux') or not hasattr(os, 'fork'):
        return func()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the trainer
        global _IN_GUARDED_CHILD
        _IN_GUARDED_CHILD = True
        code = 1
        try:
            stop_with_parent(signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)
            code = func()
        except SystemExit as err:
            code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    stop_with_parent(signal.SIGTERM)  # mim died: stop the trainer (through the handler)

    def forward(signum: int, frame) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    _, status = os.waitpid(pid, 0)  # retried after signal handlers (PEP 475)
    code = os.waitstatus_to_exitcode(status)
    return exit_code_of(-code) if code < 0 else code
