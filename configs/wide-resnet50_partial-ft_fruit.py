# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of Wide-ResNet-50-2 stay frozen; the rest and the head fine-tune.
_base_ = ['wide-resnet50_fruit.py', '_base_/strategies/partial_ft_wide_resnet50.py']

model = {{_base_.strategy.model}}
