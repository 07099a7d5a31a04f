# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# three of its five block groups of EfficientNet-B0 stay frozen; the rest and the head fine-tune.
_base_ = ['efficientnet-b0_fruit.py', '_base_/strategies/partial_ft_efficientnet_b0.py']

model = {{_base_.strategy.model}}
