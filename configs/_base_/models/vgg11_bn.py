# VGG-11 with batch normalisation after every conv (torchvision's vgg11_bn).
# Published weights: https://download.pytorch.org/models/vgg11_bn-6002323d.pth
#   ImageNet-1k top-1 70.37 % at 224 px (torchvision's weights table), licence BSD-3-Clause;
#   converted to this layout as they load.
_base_ = ['./vgg11.py']

pretrained_url = 'https://download.pytorch.org/models/vgg11_bn-6002323d.pth'

model = dict(backbone=dict(norm_cfg=dict(type='BN')))
