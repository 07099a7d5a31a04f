# Fine-tune an ImageNet-pretrained RegNetX-400MF on 30 kinds of fruit (data, SGD schedule and
# runtime: _base_/fruit30_sgd.py; architecture, weights and their normalisation:
# _base_/models/regnetx_400mf.py).
#
#   mim train mmtl regnetx-400mf_fruit.py
_base_ = ['_base_/models/regnetx_400mf.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
