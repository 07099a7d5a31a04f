"""Attacks on ``mmtl::`` names: they name mmtl's own configs, nothing outside them."""

import pytest

from mmtl.config.load import packaged_config_path


@pytest.mark.parametrize('name', ['../setup.py', 'mmtl::../setup.py', 'mmtl::/etc/hostname'])
def test_a_packaged_config_name_cannot_leave_the_config_folder(name):
    assert packaged_config_path(name) is None
