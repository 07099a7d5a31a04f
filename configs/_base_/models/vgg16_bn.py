# VGG-16 with batch normalisation after every conv (torchvision's vgg16_bn).
_base_ = ['./vgg16.py']

model = dict(backbone=dict(norm_cfg=dict(type='BN')))
