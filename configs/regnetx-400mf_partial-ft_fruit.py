# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of RegNetX-400MF stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_regnetx_400mf.py, written out
# (two bases may not set one key).
_base_ = ['regnetx-400mf_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone.conv1', 'backbone.bn1', 'backbone.layer1', 'backbone.layer2'],
)
