# ResNet-152 image classifier (torchvision's layout: style='pytorch').
# Published weights: https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth
#   ImageNet-1k top-1 78.48 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./resnet50.py']
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'

model = dict(backbone=dict(depth=152))
