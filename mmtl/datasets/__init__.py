"""Datasets, samplers and image loading; public names are imported on first use, so that a
light submodule (``mmtl.datasets.scan``, ``.listing``) does not import mmpretrain and torch."""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule that defines it.
_EXPORTS = {
    'ClassBalancedSampler': 'samplers',
    'FolderDataset': 'folder_dataset',
    'IMG_EXTENSIONS': 'listing',
    'SmallDataBatchSampler': 'batch_samplers',
    'small_data_batching': 'batch_samplers',
    'split_image_folder': 'split',
    'stratified_split': 'split',
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
