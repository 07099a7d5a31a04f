"""StopRequest: what a caught stop signal means in this process and in processes it forks."""

import multiprocessing
import os
import signal
import time

from mmtl.utils.signals import StopRequest


def _sleep_forever() -> None:
    time.sleep(60)


def test_forked_children_still_die_on_sigterm():
    # Dataloader workers and scan pools are forked while a trainer catches SIGTERM; they must
    # keep SIGTERM's usual meaning, or terminating them (pool exit, worker shutdown) hangs.
    request = StopRequest()
    assert request.install()
    try:
        child = multiprocessing.get_context('fork').Process(target=_sleep_forever)
        child.start()
        time.sleep(0.2)
        child.terminate()
        child.join(timeout=10)
        alive = child.exitcode is None
        if alive:
            child.kill()
            child.join()
        assert not alive, 'a forked child ignored SIGTERM'
        assert child.exitcode == -signal.SIGTERM
        assert request.signum is None  # the child's signal was not recorded here
    finally:
        request.restore()


def test_the_installing_process_records_the_signal_and_keeps_running():
    request = StopRequest()
    assert request.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.time() + 5
        while request.signum is None and time.time() < deadline:
            time.sleep(0.01)
        assert request.signum == signal.SIGTERM
    finally:
        request.restore()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
