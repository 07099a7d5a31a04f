# Wide-ResNet-101-2 image classifier: ResNet-101 with twice as wide bottlenecks (torchvision's
# wide_resnet101_2 layout).
# Published weights: https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet101_3rdparty_8xb32_in1k_20220304-8d5f9d61.pth
#   ImageNet-1k top-1 78.84 % at 224 px (mmpretrain's model index), licence BSD-3-Clause (converted
# from torchvision). A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./wide_resnet50.py']
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet101_3rdparty_8xb32_in1k_20220304-8d5f9d61.pth'

model = dict(backbone=dict(depth=101))
