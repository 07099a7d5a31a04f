# Fine-tune an ImageNet-pretrained DenseNet-121 on 30 kinds of fruit.
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
#   mim train mmtl densenet121_fruit.py
#   tools/dist_train.sh configs/densenet121_fruit.py 8
#
# Data, schedule (SGD, lr 0.01 for 8 GPUs x 32 images, rescaled to the batch actually used)
# and runtime: _base_/fruit30_sgd.py.
_base_ = ['_base_/models/densenet121.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))

# OpenMMLab's ImageNet-1k DenseNet-121 (74.96 % top-1, converted from torchvision's). Downloaded
# once into the torch hub cache; offline, put the file there or pass
# --cfg-options load_from=/path/to/file.pth. torchvision's own file loads as well (mmtl converts
# it as it loads): https://download.pytorch.org/models/densenet121-a639ec97.pth
load_from = (
    'https://download.openmmlab.com/mmclassification/v0/densenet/'
    'densenet121_4xb256_in1k_20220426-07450f99.pth'
)
