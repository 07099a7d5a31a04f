# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# three of its six stages of EfficientNetV2-B0 stay frozen; the rest and the head fine-tune.
_base_ = ['efficientnetv2-b0_fruit.py', '_base_/strategies/partial_ft_efficientnetv2_b0.py']

model = {{_base_.strategy.model}}
