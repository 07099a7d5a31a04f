# RegNetX-1.6GF image classifier (pycls's design space; mmpretrain has the X models, not the
# squeeze-excitation Y ones).
# Published weights: https://download.openmmlab.com/mmclassification/v0/regnet/regnetx-1.6gf_8xb128_in1k_20211213-d1b89758.pth
#   ImageNet-1k top-1 76.84 % at 224 px (mmpretrain's model index), licence MIT.
# A fine-tuning config sets the class count and loads them:
#   model = dict(head=dict(num_classes=30))
#   load_from = {{_base_.pretrained_url}}
pretrained_url = 'https://download.openmmlab.com/mmclassification/v0/regnet/regnetx-1.6gf_8xb128_in1k_20211213-d1b89758.pth'

model = dict(
    type='TransferClassifier',
    # pycls's RegNet weights take BGR images normalised with ImageNet's statistics in BGR
    # order (as in mmpretrain's regnet configs): no BGR->RGB swap.
    data_preprocessor=dict(
        type='TransferDataPreprocessor',
        mean=[103.53, 116.28, 123.675],
        std=[57.375, 57.12, 58.395],
        to_rgb=False,
    ),
    backbone=dict(type='RegNet', arch='regnetx_1.6gf'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=912,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
