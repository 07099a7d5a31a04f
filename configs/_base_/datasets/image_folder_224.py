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

# The side of the square images the model sees. Sizes written 'auto' below follow it: the
# train crop and the test crop are input_size, the test resize (short edge) is
# floor(input_size / 0.875) (256 for 224). input_size = 160 in a config, or
# --cfg-options input_size=160, changes all of them.
input_size = 224

# ImageNet statistics (RGB, 0-255): the pretrained weights expect inputs normalised this way.
# TransferDataPreprocessor is mmpretrain's ClsDataPreprocessor (same keys) that converts each
# uint8 image to a normalised float in one pass (about half the stock preprocessor's time).
data_preprocessor = dict(
    type='TransferDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # images are read as BGR
)

# LoadAndRandomResizedCrop is LoadImageFromFile + RandomResizedCrop in one step: it draws the
# crop from the file header, then decodes a JPEG at the smallest 1/2, 1/4 or 1/8 scale that
# still covers the crop with input_size x input_size pixels (2-3x faster on phone photos).
# mmtl's loaders turn every colour mode (grey, RGBA, palette, 16-bit, CMYK) into 3-channel
# BGR and apply EXIF orientation; transparent pixels are composited onto white (`background`).
# fast_decode: libjpeg-turbo's fast IDCT and chroma upsampling for training (10-30% faster,
# about 1 grey level of difference); evaluation decodes exactly.
# flip_prob=0.5 is RandomFlip(prob=0.5, direction='horizontal') folded into the same step.
train_pipeline = [
    dict(type='LoadAndRandomResizedCrop', scale='auto', flip_prob=0.5, fast_decode=True),
    dict(type='PackInputs'),
]

# min_size: decode JPEGs at reduced scale as long as the short edge stays >= the resize (256).
test_pipeline = [
    dict(type='LoadImage', min_size='auto'),
    dict(type='ResizeEdge', scale='auto', edge='short'),
    dict(type='CenterCrop', crop_size='auto'),
    dict(type='PackInputs'),
]

# Dataloader settings sized to the machine when the Runner is built (mmtl resolves 'auto'):
# num_workers = the CPUs of this process shared among the machine's training processes (at
# most 8); pin_memory = True when training on CUDA. Workers stay alive between epochs and
# each keeps `prefetch_factor` batches ready. Override e.g. with
# --cfg-options train_dataloader.num_workers=0 (runs the pipeline in the main process).
loader_defaults = dict(
    num_workers='auto', persistent_workers=True, pin_memory='auto', prefetch_factor=2
)

train_dataloader = dict(
    batch_size=32,
    **loader_defaults,
    dataset=dict(type=dataset_type, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Small data: a batch larger than the dataset is clamped, a last batch < half the batch
    # dropped (logged). See mmtl.datasets.SmallDataBatchSampler.
    batch_sampler=dict(type='SmallDataBatchSampler', min_last_ratio=0.5),
)

val_dataloader = dict(
    batch_size=64,
    **loader_defaults,
    dataset=dict(
        type=dataset_type, data_prefix='val', class_folder='train', pipeline=test_pipeline
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = dict(
    batch_size=64,
    **loader_defaults,
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
