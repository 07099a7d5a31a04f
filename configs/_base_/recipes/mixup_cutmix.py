# Mixup (alpha 0.8) or CutMix (alpha 1.0), one of the two drawn per batch (mmpretrain's batch
# augments, as in its DeiT/ConvNeXt/Swin recipes). Labels become soft scores; the head's loss
# takes them. Use it in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/mixup_cutmix.py']
#   model = dict(train_cfg=dict(augments={{_base_.mixup_cutmix_augments}}))
#   data_preprocessor = dict(num_classes=30)  # the one-hot labels need the class count
#
# (For a base model that sets its own model.data_preprocessor, CLIP's and RegNet's, write
# model = dict(data_preprocessor=dict(num_classes=30)) instead.)
mixup_cutmix_augments = [dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]
