# Fruit-30: photos of 30 kinds of fruit in one folder per class, split into train/val/test:
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
# The image-folder dataset and pipelines of image_folder_224.py with the fruit's data_root and 32
# images per GPU.
_base_ = ['./image_folder_224.py']

data_root = 'data/fruit30_split'
train_dataloader = dict(batch_size=32)
