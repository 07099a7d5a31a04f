# Strategy "partial fine-tuning" for EfficientNetV2-B0: the stem and the first three of its six
# stages stay frozen (generic edges and textures); the rest and the head fine-tune.
model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.layers.0',
        'backbone.layers.1',
        'backbone.layers.2',
        'backbone.layers.3',
    ],
)
