# Mixup (alpha 0.8) or CutMix (alpha 1.0), one of the two drawn per batch (mmpretrain's batch
# augments, as in its DeiT/ConvNeXt/Swin recipes). Labels become soft scores; the head's loss
# takes them. Use it in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/mixup_cutmix.py']
#   model = dict(train_cfg=dict(augments={{_base_.mixup_cutmix_augments}}))
#
# The one-hot labels take their class count from model.head.num_classes.
mixup_cutmix_augments = [dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]
