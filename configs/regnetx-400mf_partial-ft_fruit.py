# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of RegNetX-400MF stay frozen; the rest and the head fine-tune.
_base_ = ['regnetx-400mf_fruit.py', '_base_/strategies/partial_ft_regnetx_400mf.py']

model = {{_base_.strategy.model}}
