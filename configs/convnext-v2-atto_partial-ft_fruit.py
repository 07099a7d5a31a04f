# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# two of its four stages of ConvNeXt-V2-Atto stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_convnext_v2_atto.py, written out
# (two bases may not set one key).
_base_ = ['convnext-v2-atto_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.downsample_layers.0',
        'backbone.stages.0',
        'backbone.downsample_layers.1',
        'backbone.stages.1',
    ],
)
