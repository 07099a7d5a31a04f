# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# three of its five block groups of EfficientNet-B0 stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_efficientnet_b0.py, written out
# (two bases may not set one key).
_base_ = ['efficientnet-b0_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.layers.0',
        'backbone.layers.1',
        'backbone.layers.2',
        'backbone.layers.3',
    ],
)
