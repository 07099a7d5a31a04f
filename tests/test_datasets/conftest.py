"""Fixtures of the dataset tests."""

import logging

import pytest
from mmengine.logging import MMLogger


@pytest.fixture
def warnings_log():
    """Messages logged at WARNING or above by mmengine's current logger during the test."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
