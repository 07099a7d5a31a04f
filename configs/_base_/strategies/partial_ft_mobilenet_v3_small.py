# Strategy "partial fine-tuning" for MobileNet-v3-Small: the stem and the first six of its eleven
# inverted-residual blocks stay frozen (generic edges and textures); the rest and the head
# fine-tune.
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
