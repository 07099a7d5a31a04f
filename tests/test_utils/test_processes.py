"""A child process with its output in a log file."""

import sys

import pytest

from mmtl.utils.errors import UserError
from mmtl.utils.processes import run_logged

FAIL = [sys.executable, '-c', 'import sys; print("boom"); sys.exit(3)']


def test_the_exit_code_is_returned_and_the_output_logged(tmp_path):
    log = tmp_path / 'new' / 'run.log'  # the folder is made
    assert run_logged(FAIL, str(log)) == 3
    assert log.read_text().strip() == 'boom'


def test_a_checked_failure_says_the_end_of_its_log(tmp_path):
    with pytest.raises(UserError, match=r'failed \(exit 3\); end of .*run.log:\nboom'):
        run_logged(FAIL, str(tmp_path / 'run.log'), check=True)
    assert run_logged(FAIL[:2] + ['pass'], str(tmp_path / 'ok.log'), check=True) == 0
