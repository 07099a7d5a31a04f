# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding and
# the first two of its four stages of Swin-T stay frozen; the rest and the head fine-tune.
_base_ = ['swin-tiny_fruit.py', '_base_/strategies/partial_ft_swin_tiny.py']

model = {{_base_.strategy.model}}
