# VGG-19 with batch normalisation after every conv (torchvision's vgg19_bn).
# Published weights: https://download.pytorch.org/models/vgg19_bn-c79401a0.pth
#   ImageNet-1k top-1 74.218 % at 224 px (torchvision's weights table), licence BSD-3-Clause;
#   converted to this layout as they load.
_base_ = ['./vgg19.py']

pretrained_url = 'https://download.pytorch.org/models/vgg19_bn-c79401a0.pth'

model = dict(backbone=dict(norm_cfg=dict(type='BN')))
