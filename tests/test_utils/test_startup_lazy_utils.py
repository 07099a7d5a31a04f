"""``mmtl.utils`` and ``mmtl.utils.cli`` import no torch, and still give every name.

``import mmtl`` does not import torch; the safe checkpoint loaders and ``MMTLRunner`` are
registered when ``mmtl.engine`` is imported (mmtl's base runtime config imports it),
whichever mmtl module came first. Each order runs in a fresh interpreter.
"""

import pytest
from mmtl_testing import run_probe

import mmtl.utils
import mmtl.utils.cli

_LIGHT_PROBE = r"""
import json, sys
import mmtl, mmtl.utils, mmtl.utils.cli, mmtl.config.resolve
print('REPORT' + json.dumps('torch' in sys.modules))
"""

_ORDER_PROBE = r"""
import json, sys
import mmtl, FIRST
import mmtl.engine
from mmengine.registry import RUNNERS
from mmengine.runner import CheckpointLoader
print('REPORT' + json.dumps([
    'MMTLRunner' in RUNNERS.module_dict, CheckpointLoader._schemes[''].__module__]))
"""


def _report(probe: str, tmp_path):
    return run_probe(probe, str(tmp_path))


def test_every_exported_name_resolves_and_all_is_sorted():
    names = mmtl.utils.__all__
    assert names == sorted(names)
    for name in ('CheckpointError', 'UnsafeCheckpointError', 'safe_torch_load'):
        assert name in names
    for name in names:
        assert getattr(mmtl.utils, name).__name__ == name
    from mmtl.utils import CheckpointDownloadError  # noqa: F401

    with pytest.raises(AttributeError, match='no_such_name'):
        mmtl.utils.no_such_name  # noqa: B018


def test_user_errors_cover_the_checkpoint_errors():
    from mmtl.utils.checkpoint import CheckpointDownloadError, UnsafeCheckpointError

    for error in (CheckpointDownloadError, UnsafeCheckpointError, FileNotFoundError):
        assert issubclass(error, mmtl.utils.cli.USER_ERRORS)


def test_import_mmtl_utils_and_cli_import_no_torch(tmp_path):
    assert _report(_LIGHT_PROBE, tmp_path) is False


@pytest.mark.parametrize(
    'first', ['mmtl.utils.checkpoint', 'mmtl.registry', 'mmtl.engine.loading', 'mmtl.apis']
)
def test_loaders_and_runner_registered_whichever_module_comes_first(first, tmp_path):
    registered, loader = _report(_ORDER_PROBE.replace('FIRST', first), tmp_path)
    assert registered is True
    assert loader == 'mmtl.engine.loading'
