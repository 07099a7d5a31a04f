from .checkpoint import (
    CheckpointDownloadError,
    CheckpointError,
    NotACheckpointError,
    UnsafeCheckpointError,
    cached_checkpoint_path,
    download_checkpoint,
    is_url,
    register_checkpoint_schemes,
    safe_torch_load,
)
from .config import apply_data_root, load_config, validate_config
from .fileio import atomic_open
from .setup_env import register_all_modules

__all__ = [
    'CheckpointDownloadError',
    'CheckpointError',
    'NotACheckpointError',
    'UnsafeCheckpointError',
    'apply_data_root',
    'atomic_open',
    'cached_checkpoint_path',
    'download_checkpoint',
    'is_url',
    'load_config',
    'register_all_modules',
    'register_checkpoint_schemes',
    'safe_torch_load',
    'validate_config',
]
