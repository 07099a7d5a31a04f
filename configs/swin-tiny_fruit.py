# Fine-tune an ImageNet-pretrained Swin-T on 30 kinds of fruit (data, AdamW schedule and
# runtime: _base_/fruit30_adamw.py; architecture, weights and their normalisation:
# _base_/models/swin_tiny.py).
#
#   mim train mmtl swin-tiny_fruit.py
_base_ = ['_base_/models/swin_tiny.py', '_base_/fruit30_adamw.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
