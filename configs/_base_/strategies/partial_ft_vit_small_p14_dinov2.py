# Strategy "partial fine-tuning" for DINOv2 ViT-S/14: the patch embedding and the first six of its
# twelve blocks stay frozen (generic edges and textures); the rest and the head fine-tune. The class
# token and position embedding are parameters of the backbone itself, not modules: they train with
# the upper blocks.
model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.patch_embed',
        'backbone.layers.0',
        'backbone.layers.1',
        'backbone.layers.2',
        'backbone.layers.3',
        'backbone.layers.4',
        'backbone.layers.5',
    ],
)
