# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding and
# the first six of its twelve blocks of DINOv2 ViT-S/14 stay frozen; the rest and the head fine-
# tune.
_base_ = ['vit-small-p14_dinov2_fruit.py', '_base_/strategies/partial_ft_vit_small_p14_dinov2.py']

model = {{_base_.strategy.model}}
