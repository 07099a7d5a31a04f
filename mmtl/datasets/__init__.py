"""Datasets, samplers and image loading; public names are imported on first use.

Importing a light submodule (``mmtl.datasets.scan``, ``.listing``: NumPy and Pillow only)
does not import ``FolderDataset`` and with it mmpretrain and torch (``check_dataset`` starts
fast). The modules that register into mmtl's registries are named in :mod:`mmtl.registry`'s
``locations``, so that building a config imports them.
"""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule that defines it.
_EXPORTS = {
    'BAD_FILE_POLICIES': 'folder_dataset',
    'BadDataError': 'folder_dataset',
    'ClassBalancedSampler': 'samplers',
    'FolderDataset': 'folder_dataset',
    'IMG_EXTENSIONS': 'listing',
    'LoadAndRandomResizedCrop': 'transforms.loading',
    'LoadImage': 'transforms.loading',
    'ScanReport': 'scan',
    'SmallDataBatchSampler': 'batch_samplers',
    'check_image_file': 'scan',
    'scan_image_files': 'scan',
    'small_data_batching': 'batch_samplers',
    'split_image_folder': 'split',
    'stratified_split': 'split',
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
