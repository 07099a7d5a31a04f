# ResNeXt-50 (32x4d) image classifier (grouped 3x3 convs; torchvision's resnext50_32x4d layout).
# Published weights: https://download.openmmlab.com/mmclassification/v0/resnext/resnext50_32x4d_b32x8_imagenet_20210429-56066e27.pth
#   ImageNet-1k top-1 77.9 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./resnet50.py']
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/resnext/resnext50_32x4d_b32x8_imagenet_20210429-56066e27.pth'

model = dict(backbone=dict(type='ResNeXt', groups=32, width_per_group=4))
