from .folder_dataset import IMG_EXTENSIONS, FolderDataset
from .split import split_image_folder, stratified_split

__all__ = ['IMG_EXTENSIONS', 'FolderDataset', 'split_image_folder', 'stratified_split']
