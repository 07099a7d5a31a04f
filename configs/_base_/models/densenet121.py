# DenseNet-121 image classifier (growth rate 32, blocks of 6/12/24/16 layers, final BN + ReLU,
# global average pooling, linear head). A fine-tuning config sets the class count:
#   model = dict(head=dict(num_classes=30))
model = dict(
    type='ImageClassifier',
    backbone=dict(type='DenseNet', arch='121'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
