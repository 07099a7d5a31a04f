from .folder_dataset import IMG_EXTENSIONS, FolderDataset
from .split import split_image_folder, stratified_split
from .transforms import LoadAndRandomResizedCrop, LoadImage

__all__ = [
    'IMG_EXTENSIONS',
    'FolderDataset',
    'LoadAndRandomResizedCrop',
    'LoadImage',
    'split_image_folder',
    'stratified_split',
]
