# DenseNet-121 image classifier (growth rate 32, blocks of 6/12/24/16 layers, final BN + ReLU,
# global average pooling, linear head). A fine-tuning config sets the class count:
#   model = dict(head=dict(num_classes=30))
model = dict(
    type='TransferClassifier',
    backbone=dict(type='DenseNet', arch='121'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
