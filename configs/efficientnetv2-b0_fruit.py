# Fine-tune an ImageNet-pretrained EfficientNetV2-B0 on 30 kinds of fruit (data, SGD schedule and
# runtime: _base_/fruit30_sgd.py; architecture, weights and their normalisation:
# _base_/models/efficientnetv2_b0.py).
#
#   mim train mmtl efficientnetv2-b0_fruit.py
_base_ = ['_base_/models/efficientnetv2_b0.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
