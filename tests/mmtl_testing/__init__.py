"""Helpers the tests import (plain functions and constants; fixtures live in conftest.py).

``toy_runner`` (torch, mmengine) and ``bad_images`` are imported as submodules where needed.
"""

from .commands import (
    NO_WORKERS,
    REPO_ROOT,
    describe,
    free_port,
    import_tool,
    run_command,
    run_probe,
    tool_env,
    tool_status,
)
from .images import write_color_folder

__all__ = [
    'NO_WORKERS',
    'REPO_ROOT',
    'describe',
    'free_port',
    'import_tool',
    'run_command',
    'run_probe',
    'tool_env',
    'tool_status',
    'write_color_folder',
]
