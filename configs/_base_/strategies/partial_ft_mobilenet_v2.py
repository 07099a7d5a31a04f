# Strategy "partial fine-tuning" for MobileNet-v2: the stem and the first four of its seven
# inverted-residual stages stay frozen (generic edges and textures); stages 5-7, the last 1x1
# conv and the head fine-tune.
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
