# VGG-13 with batch normalisation after every conv (torchvision's vgg13_bn).
# Published weights: https://download.pytorch.org/models/vgg13_bn-abd245e5.pth
#   ImageNet-1k top-1 71.586 % at 224 px (torchvision's weights table), licence BSD-3-Clause;
#   converted to this layout as they load.
_base_ = ['./vgg13.py']

pretrained_url = 'https://download.pytorch.org/models/vgg13_bn-abd245e5.pth'

model = dict(backbone=dict(norm_cfg=dict(type='BN')))
