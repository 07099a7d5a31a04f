# Fine-tune an ImageNet-pretrained MobileNet-v3-Small on 30 kinds of fruit (data, SGD schedule and
# runtime: _base_/fruit30_sgd.py; architecture, weights and their normalisation:
# _base_/models/mobilenet_v3_small.py).
#
#   mim train mmtl mobilenet-v3-small_fruit.py
_base_ = ['_base_/models/mobilenet_v3_small.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
