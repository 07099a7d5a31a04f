# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding and
# the first six of its twelve blocks of DeiT-III ViT-S/16 stay frozen; the rest and the head fine-
# tune.
# Keys of _base_/strategies/partial_ft_deit3_small_p16.py, written out
# (two bases may not set one key).
_base_ = ['deit3-small-p16_fruit.py']

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
