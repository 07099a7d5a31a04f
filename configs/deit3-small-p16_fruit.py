# Fine-tune an ImageNet-pretrained DeiT-III ViT-S/16 on 30 kinds of fruit (data, AdamW schedule and
# runtime: _base_/fruit30_adamw.py; architecture, weights and their normalisation:
# _base_/models/deit3_small_p16.py).
#
#   mim train mmtl deit3-small-p16_fruit.py
_base_ = ['_base_/models/deit3_small_p16.py', '_base_/fruit30_adamw.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
