# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the first
# six of its eleven inverted-residual blocks of MobileNet-v3-Small stay frozen; the rest and the
# head fine-tune.
# Keys of _base_/strategies/partial_ft_mobilenet_v3_small.py, written out
# (two bases may not set one key).
_base_ = ['mobilenet-v3-small_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.layer0',
        'backbone.layer1',
        'backbone.layer2',
        'backbone.layer3',
        'backbone.layer4',
        'backbone.layer5',
        'backbone.layer6',
    ],
)
