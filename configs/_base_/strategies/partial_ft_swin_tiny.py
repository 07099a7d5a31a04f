# Strategy "partial fine-tuning" for Swin-T: the patch embedding and the first two of its four
# stages stay frozen (generic edges and textures); the rest and the head fine-tune.
model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.patch_embed',
        'backbone.stages.0',
        'backbone.stages.1',
    ],
)
