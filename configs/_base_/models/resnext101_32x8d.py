# ResNeXt-101 (32x8d) image classifier (grouped 3x3 convs; torchvision's resnext101_32x8d layout).
# Published weights: https://download.openmmlab.com/mmclassification/v0/resnext/resnext101_32x8d_b32x8_imagenet_20210506-23a247d5.pth
#   ImageNet-1k top-1 79.27 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./resnext50_32x4d.py']
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/resnext/resnext101_32x8d_b32x8_imagenet_20210506-23a247d5.pth'

model = dict(backbone=dict(depth=101, width_per_group=8))
