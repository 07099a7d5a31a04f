# Strategy "partial fine-tuning" for RegNetX-400MF: the stem and the first two of its four stages
# stay frozen (generic edges and textures); the rest and the head fine-tune.
model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.conv1',
        'backbone.bn1',
        'backbone.layer1',
        'backbone.layer2',
    ],
)
