# DeiT-III ViT-S/16 image classifier. The class token is the image feature
# (out_type='cls_token', after the final LayerNorm): no neck. Another input size interpolates the
# position embedding (bicubic) when the weights load and at every forward pass.
# Published weights: https://download.openmmlab.com/mmclassification/v0/deit3/deit3-small-p16_3rdparty_in1k_20221008-0f7c70cf.pth
#   ImageNet-1k top-1 81.35 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/deit3/deit3-small-p16_3rdparty_in1k_20221008-0f7c70cf.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(
        type='DeiT3WithMlpNorm', arch='s', img_size=224, patch_size=16, drop_path_rate=0.05
    ),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=1000,
        in_channels=384,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
