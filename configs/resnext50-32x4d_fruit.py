# Fine-tune an ImageNet-pretrained ResNeXt-50 (32x4d) on 30 kinds of fruit (data, SGD schedule and
# runtime: _base_/fruit30_sgd.py; architecture, weights and their normalisation:
# _base_/models/resnext50_32x4d.py).
#
#   mim train mmtl resnext50-32x4d_fruit.py
_base_ = ['_base_/models/resnext50_32x4d.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
