# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the
# first four of MobileNet-v2's seven inverted-residual stages stay frozen (generic edges and
# textures); stages 5-7, the last 1x1 conv and the head fine-tune.
# Keys of _base_/strategies/partial_ft_mobilenet_v2.py, written out (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.conv1',
        'backbone.layer1',
        'backbone.layer2',
        'backbone.layer3',
        'backbone.layer4',
    ],
)
