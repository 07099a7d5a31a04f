# Fine-tune an ImageNet-pretrained CLIP ViT-B/16 on 30 kinds of fruit (data, AdamW schedule and
# runtime: _base_/fruit30_adamw.py; architecture, weights and their normalisation:
# _base_/models/vit_base_p16_clip.py).
#
#   mim train mmtl vit-base-p16_clip_fruit.py
_base_ = ['_base_/models/vit_base_p16_clip.py', '_base_/fruit30_adamw.py']

model = dict(head=dict(num_classes=30))
load_from = {{_base_.pretrained_url}}
