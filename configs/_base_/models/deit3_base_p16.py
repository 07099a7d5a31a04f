# DeiT-III ViT-B/16 image classifier. The class token is the image feature
# (out_type='cls_token', after the final LayerNorm): no neck. Another input size interpolates the
# position embedding (bicubic) when the weights load and at every forward pass.
# Published weights: https://download.openmmlab.com/mmclassification/v0/deit3/deit3-base-p16_3rdparty_in1k_20221008-60b8c8bf.pth
#   ImageNet-1k top-1 83.8 % at 224 px (mmpretrain's model index), licence Apache-2.0.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/deit3/deit3-base-p16_3rdparty_in1k_20221008-60b8c8bf.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(
        type='DeiT3WithMlpNorm', arch='b', img_size=224, patch_size=16, drop_path_rate=0.05
    ),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=1000,
        in_channels=768,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
