# ConvNeXt-V2-Atto image classifier (FCMAE-pretrained, global response norm, no layer
# scale). The backbone pools itself, so there is no neck.
# Published weights: https://download.openmmlab.com/mmclassification/v0/convnext-v2/convnext-v2-atto_fcmae-pre_3rdparty_in1k_20230104-23765f83.pth
#   ImageNet-1k top-1 76.64 % at 224 px (mmpretrain's model index), licence CC-BY-NC-4.0
# (ConvNeXt-V2 weights: non-commercial). A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/convnext-v2/convnext-v2-atto_fcmae-pre_3rdparty_in1k_20230104-23765f83.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(
        type='ConvNeXt',
        arch='atto',
        drop_path_rate=0.1,
        layer_scale_init_value=0.0,
        use_grn=True,
    ),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=320,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
