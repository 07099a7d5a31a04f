# Swin-T image classifier (shifted-window transformer). Its last stage gives an N x C x 7 x 7 map
# (at 224 px), pooled by the neck.
# Published weights: https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth
#   ImageNet-1k top-1 81.18 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(type='SwinTransformer', arch='tiny', img_size=224, drop_path_rate=0.2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
