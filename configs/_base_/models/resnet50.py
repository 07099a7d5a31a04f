# ResNet-50 image classifier. A fine-tuning config sets the class count:
#   model = dict(head=dict(num_classes=30))
model = dict(
    type='TransferClassifier',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3,), style='pytorch'),
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
