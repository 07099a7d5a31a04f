# ResNet-152 image classifier (torchvision's layout: style='pytorch').
# Published weights: https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth
#   ImageNet-1k top-1 78.48 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=152, num_stages=4, out_indices=(3,), style='pytorch'),
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
