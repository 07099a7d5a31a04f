# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of ConvNeXt-Tiny stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_convnext_tiny.py, written out
# (two bases may not set one key).
_base_ = ['convnext-tiny_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.downsample_layers.0',
        'backbone.stages.0',
        'backbone.downsample_layers.1',
        'backbone.stages.1',
    ],
)
