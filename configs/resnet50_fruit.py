# Fine-tune an ImageNet-pretrained ResNet-50 on 30 kinds of fruit.
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
#   mim train mmtl resnet50_fruit.py
#   tools/dist_train.sh configs/resnet50_fruit.py 8
#
# Data, schedule (SGD, lr 0.01 for 8 GPUs x 32 images, rescaled to the batch actually used)
# and runtime: _base_/fruit30_sgd.py.
_base_ = ['_base_/models/resnet50.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))

# OpenMMLab's ImageNet-1k ResNet-50 (76.55 % top-1). Downloaded once into the torch hub
# cache; offline, put the file there or pass --cfg-options load_from=/path/to/file.pth.
load_from = (
    'https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet50_8xb32_in1k_20210831-ea4938fc.pth'
)
