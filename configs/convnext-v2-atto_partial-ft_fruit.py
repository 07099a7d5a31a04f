# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of ConvNeXt-V2-Atto stay frozen; the rest and the head fine-tune.
_base_ = ['convnext-v2-atto_fruit.py', '_base_/strategies/partial_ft_convnext_v2_atto.py']

model = {{_base_.strategy.model}}
