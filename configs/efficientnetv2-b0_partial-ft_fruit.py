# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# three of its six stages of EfficientNetV2-B0 stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_efficientnetv2_b0.py, written out
# (two bases may not set one key).
_base_ = ['efficientnetv2-b0_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.layers.0',
        'backbone.layers.1',
        'backbone.layers.2',
        'backbone.layers.3',
    ],
)
