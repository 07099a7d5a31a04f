# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of ConvNeXt-Tiny stay frozen; the rest and the head fine-tune.
_base_ = ['convnext-tiny_fruit.py', '_base_/strategies/partial_ft_convnext_tiny.py']

model = {{_base_.strategy.model}}
