# A dataset of photos in one folder per class, split into train/val/test:
#
#   <data_root>/train/<class>/*.jpg
#   <data_root>/val/<class>/*.jpg
#   <data_root>/test/<class>/*.jpg
#
# Set `data_root` in your config (or --cfg-options data_root=...): mmtl copies it into the
# three datasets below. Classes are the sub-folders of train/, in sorted order, and val/test
# use the same list; to fix the order yourself set `classes` (a list or a text file) in each.

data_root = 'data/my_dataset'
dataset_type = 'FolderDataset'

# ImageNet statistics (RGB, 0-255): the pretrained weights expect inputs normalised this way.
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # images are read as BGR
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type, data_prefix='val', class_folder='train', pipeline=test_pipeline
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type, data_prefix='test', class_folder='train', pipeline=test_pipeline
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Testing also reports, into <work_dir>/test_metrics.json: per-class precision/recall/F1 and
# support, macro and micro averages, the confusion matrix, ROC curves and AUC (one-vs-rest
# with more than two classes) and, for two classes only, a decision threshold (Youden's J)
# with its sensitivity and specificity.
test_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='ClassificationReport'),
    dict(type='ConfusionMatrix'),
    dict(type='ROCAUC'),
    dict(type='BinaryThreshold', threshold='youden'),
]
