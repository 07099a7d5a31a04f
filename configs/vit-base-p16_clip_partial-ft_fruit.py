# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding, its
# pre-norm and the first six of its twelve blocks of CLIP ViT-B/16 stay frozen; the rest and the
# head fine-tune.
# Keys of _base_/strategies/partial_ft_vit_base_p16_clip.py, written out
# (two bases may not set one key).
_base_ = ['vit-base-p16_clip_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=[
        'backbone.patch_embed',
        'backbone.pre_norm',
        'backbone.layers.0',
        'backbone.layers.1',
        'backbone.layers.2',
        'backbone.layers.3',
        'backbone.layers.4',
        'backbone.layers.5',
    ],
)
