"""Moved to :mod:`mmtl.utils.loader_defaults` (kept here so old imports keep working)."""

from mmtl.utils.loader_defaults import (  # noqa: F401
    DATALOADER_KEYS,
    MAX_AUTO_WORKERS,
    auto_num_workers,
    available_cpus,
    cuda_in_use,
    fix_dataloader_workers,
    resolve_dataloader_defaults,
)
