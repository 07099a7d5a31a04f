# ResNeXt-101 (64x4d) image classifier (grouped 3x3 convs; torchvision's resnext101_64x4d layout).
# Published weights: https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth
#   ImageNet-1k top-1 83.246 % at 224 px (torchvision's weights table, its new recipe),
#   licence BSD-3-Clause;
#   converted to this layout as they load.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNeXt',
        depth=101,
        num_stages=4,
        out_indices=(3,),
        groups=64,
        width_per_group=4,
        style='pytorch',
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
