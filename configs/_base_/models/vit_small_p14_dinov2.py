# DINOv2 ViT-S/14 (self-supervised on LVD-142M; a backbone without ImageNet classifier)
# with a new linear head on the class token. Patch 14: pretrained at 518 px (37 x 37 patches); here
# built for 224 px (16 x 16), the position embedding interpolated (bicubic) when the weights load.
# For 518 px set backbone img_size=518 and input_size = 518.
# Published weights: https://download.openmmlab.com/mmpretrain/v1.0/dinov2/vit-small-p14_dinov2-pre_3rdparty_20230426-5641ca5a.pth
#   No ImageNet classifier (a feature extractor), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmpretrain/v1.0/dinov2/vit-small-p14_dinov2-pre_3rdparty_20230426-5641ca5a.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='dinov2-small',
        img_size=224,
        patch_size=14,
        layer_scale_init_value=1e-5,
        out_type='cls_token',
    ),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
