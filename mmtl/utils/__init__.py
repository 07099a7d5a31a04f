"""mmtl's utilities, imported on first use.

``import mmtl.utils`` (which ``import mmtl`` does) imports none of the submodules:
:mod:`mmtl.utils.checkpoint` imports torch, and a tool's ``--help`` must not pay for it.
"""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule (of this package) that defines it.
_LAZY_NAMES = {
    'CheckpointDownloadError': 'errors',
    'CheckpointError': 'errors',
    'NotACheckpointError': 'errors',
    'UnsafeCheckpointError': 'checkpoint',
    'atomic_open': 'fileio',
    'cached_checkpoint_path': 'checkpoint',
    'download_checkpoint': 'checkpoint',
    'is_url': 'checkpoint',
    'safe_torch_load': 'checkpoint',
}

__all__ = sorted(_LAZY_NAMES)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY_NAMES)
