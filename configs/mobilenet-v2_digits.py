# The embedded default: scikit-learn's handwritten digits (1797 real 8x8 scans, 10 classes),
# written as an image folder by tools/dataset_converters/sklearn_digits.py. It runs the
# same MobileNet-v2 as the fruit config, on 32x32 inputs and trained from scratch, so that
# the whole train/test/infer loop fits in a few minutes on 2 CPU cores.
_base_ = [
    '_base_/models/mobilenet_v2_1x.py',
    '_base_/datasets/image_folder_224.py',
    '_base_/schedules/adamw_cosine_30e.py',
    '_base_/default_runtime.py',
]

data_root = 'data/digits'

model = dict(head=dict(num_classes=10))

# Digits are upscaled from 8x8 to 32x32 ('auto' sizes below follow input_size); mild crops
# and no flips (a mirrored 3 is not a 3).
input_size = 32
train_pipeline = [
    dict(
        type='LoadAndRandomResizedCrop',
        scale='auto',
        crop_ratio_range=(0.8, 1.0),
        aspect_ratio_range=(0.9, 1.1),
        interpolation='bicubic',
    ),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale='auto', interpolation='bicubic'),
    dict(type='PackInputs'),
]

# Workers, pinning and prefetch come from the base dataset config ('auto': sized to the machine).
train_dataloader = dict(batch_size=32, dataset=dict(classes='classes.txt', pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(classes='classes.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=4e-3, weight_decay=0.05))
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(logger=dict(interval=10))
