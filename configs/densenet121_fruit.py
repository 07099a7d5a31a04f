# Fine-tune an ImageNet-pretrained DenseNet-121 on 30 kinds of fruit.
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
#   mim train mmtl densenet121_fruit.py
#   tools/dist_train.sh configs/densenet121_fruit.py 8
#
# The lr below is for 8 GPUs x 32 images; auto_scale_lr rescales it to the total batch size
# actually used.
_base_ = [
    '_base_/models/densenet121.py',
    '_base_/datasets/image_folder_224.py',
    '_base_/schedules/sgd_cosine_30e.py',
    '_base_/default_runtime.py',
]

data_root = 'data/fruit30_split'

model = dict(head=dict(num_classes=30))

# OpenMMLab's ImageNet-1k DenseNet-121 (74.96 % top-1, converted from torchvision's). Downloaded
# once into the torch hub cache; offline, put the file there or pass
# --cfg-options load_from=/path/to/file.pth. torchvision's own file loads as well (mmtl converts
# it as it loads): https://download.pytorch.org/models/densenet121-a639ec97.pth
load_from = (
    'https://download.openmmlab.com/mmclassification/v0/densenet/'
    'densenet121_4xb256_in1k_20220426-07450f99.pth'
)

optim_wrapper = dict(optimizer=dict(lr=0.01))  # for 8 x 32 images
train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=256, enable=True)
