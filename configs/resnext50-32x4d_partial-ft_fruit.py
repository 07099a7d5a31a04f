# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of ResNeXt-50 (32x4d) stay frozen; the rest and the head fine-tune.
_base_ = ['resnext50-32x4d_fruit.py', '_base_/strategies/partial_ft_resnext50_32x4d.py']

model = {{_base_.strategy.model}}
