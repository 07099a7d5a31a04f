# Stochastic depth: each residual block is skipped with a probability that grows linearly with
# depth up to drop_path_rate (at the last block). The families whose backbone takes
# drop_path_rate: ConvNeXt (-V2), Swin, ViT/DeiT-III/DINOv2/CLIP, EfficientNet (-V2). Their base
# models set the published recipe's rate; set another in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/stochastic_depth.py']
#   model = dict(backbone=dict(drop_path_rate={{_base_.drop_path_rate}}))
drop_path_rate = 0.1
