# Fine-tune an ImageNet-pretrained DINOv2 ViT-S/14 on 30 kinds of fruit (data, AdamW schedule and
# runtime: _base_/fruit30_adamw.py; architecture, weights and their normalisation:
# _base_/models/vit_small_p14_dinov2.py).
#
#   mim train mmtl vit-small-p14_dinov2_fruit.py
_base_ = ['_base_/models/vit_small_p14_dinov2.py', '_base_/fruit30_adamw.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
