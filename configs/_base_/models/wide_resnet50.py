# Wide-ResNet-50-2 image classifier: ResNet-50 with twice as wide bottlenecks (torchvision's
# wide_resnet50_2 layout).
# Published weights: https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet50_3rdparty_8xb32_in1k_20220304-66678344.pth
#   ImageNet-1k top-1 78.48 % at 224 px (mmpretrain's model index), licence BSD-3-Clause (converted
# from torchvision). A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
_base_ = ['./resnet50.py']
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet50_3rdparty_8xb32_in1k_20220304-66678344.pth'

model = dict(backbone=dict(stem_channels=64, base_channels=128, expansion=2))
