# ResNeXt-101 (64x4d) image classifier (grouped 3x3 convs; torchvision's resnext101_64x4d layout).
# Published weights: https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth
#   ImageNet-1k top-1 83.246 % at 224 px (torchvision's weights table, its new recipe),
#   licence BSD-3-Clause;
#   converted to this layout as they load.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./resnext50_32x4d.py']
pretrained_url = 'https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth'

model = dict(backbone=dict(depth=101, groups=64))
