# EfficientNetV2-S image classifier (mmpretrain's port of the TensorFlow model); trained at
# 300 px, evaluated at 384: set input_size = 384 in the config that uses it.
# Published weights: https://download.openmmlab.com/mmclassification/v0/efficientnetv2/efficientnetv2-s_3rdparty_in1k_20221220-f0eaff9d.pth
#   ImageNet-1k top-1 83.82 % at 384 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/efficientnetv2/efficientnetv2-s_3rdparty_in1k_20221220-f0eaff9d.pth'

model = dict(
    type='TransferClassifier',
    # The TF-ported EfficientNetV2-S weights take inputs scaled to [-1, 1] (mean = std = 127.5).
    data_preprocessor=dict(
        type='TransferDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True,
    ),
    backbone=dict(type='EfficientNetV2', arch='s'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
