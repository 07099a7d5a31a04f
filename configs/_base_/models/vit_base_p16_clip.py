# CLIP ViT-B/16 image encoder (LAION-2B contrastive pretraining, then ImageNet-12k and -1k
# fine-tuning, ported from timm/OpenCLIP) with its classifier: a pre-norm ViT whose class token is
# the image feature. Inputs use CLIP's own mean/std (below), not ImageNet's.
# Published weights: https://download.openmmlab.com/mmclassification/v0/clip/clip-vit-base-p16_laion2b-in12k-pre_3rdparty_in1k_20221220-a5e31f8c.pth
#   ImageNet-1k top-1 86.02 % at 224 px (mmpretrain's model index), licence Apache-2.0
# (timm/OpenCLIP weights). A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/clip/clip-vit-base-p16_laion2b-in12k-pre_3rdparty_in1k_20221220-a5e31f8c.pth'

model = dict(
    type='TransferClassifier',
    # OpenAI CLIP's own normalisation (RGB, 0-255), with which these weights were trained;
    # it differs from ImageNet's.
    data_preprocessor=dict(
        type='TransferDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=True,
    ),
    backbone=dict(type='VisionTransformer', arch='b', img_size=224, patch_size=16, pre_norm=True),
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
