# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# six of its eleven inverted-residual blocks of MobileNet-v3-Small stay frozen; the rest and the
# head fine-tune.
_base_ = ['mobilenet-v3-small_fruit.py', '_base_/strategies/partial_ft_mobilenet_v3_small.py']

model = {{_base_.strategy.model}}
