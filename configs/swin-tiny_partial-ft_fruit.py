# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding and
# the first two of its four stages of Swin-T stay frozen; the rest and the head fine-tune.
# Keys of _base_/strategies/partial_ft_swin_tiny.py, written out (two bases may not set one key).
_base_ = ['swin-tiny_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone.patch_embed', 'backbone.stages.0', 'backbone.stages.1'],
)
