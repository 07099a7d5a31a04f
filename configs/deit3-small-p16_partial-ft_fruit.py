# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding and
# the first six of its twelve blocks of DeiT-III ViT-S/16 stay frozen; the rest and the head fine-
# tune.
_base_ = ['deit3-small-p16_fruit.py', '_base_/strategies/partial_ft_deit3_small_p16.py']

model = {{_base_.strategy.model}}
