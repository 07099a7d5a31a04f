# Strategy "partial fine-tuning" for ConvNeXt-Tiny: the stem and the first two of its four stages
# stay frozen (generic edges and textures); the rest and the head fine-tune.
model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.downsample_layers.0',
        'backbone.stages.0',
        'backbone.downsample_layers.1',
        'backbone.stages.1',
    ],
)
