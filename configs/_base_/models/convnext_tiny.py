# ConvNeXt-Tiny image classifier. The backbone pools itself (global average pooling,
# then its final LayerNorm: gap_before_final_norm), so there is no neck.
# Stochastic depth: backbone drop_path_rate.
# Published weights: https://download.openmmlab.com/mmclassification/v0/convnext/convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth
#   ImageNet-1k top-1 82.14 % at 224 px (mmpretrain's model index), licence Apache-2.0 (mmpretrain);
# MIT (ConvNeXt). A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/convnext/convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(type='ConvNeXt', arch='tiny', drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
