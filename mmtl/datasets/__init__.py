from .folder_dataset import BAD_FILE_POLICIES, IMG_EXTENSIONS, BadDataError, FolderDataset
from .samplers import ClassBalancedSampler
from .scan import ScanReport, check_image_file, scan_image_files
from .split import split_image_folder, stratified_split
from .transforms import LoadAndRandomResizedCrop, LoadImage

__all__ = [
    'BAD_FILE_POLICIES',
    'IMG_EXTENSIONS',
    'BadDataError',
    'ClassBalancedSampler',
    'FolderDataset',
    'LoadAndRandomResizedCrop',
    'LoadImage',
    'ScanReport',
    'check_image_file',
    'scan_image_files',
    'split_image_folder',
    'stratified_split',
]
