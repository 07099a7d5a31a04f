# Fine-tuning with AdamW: lr 5e-4 for a total batch of 256 (8 GPUs x 32), one warm-up epoch,
# then cosine decay. No weight decay on norm layers and biases.
# TransferOptimWrapperConstructor: see sgd_cosine_30e.py.
optim_wrapper = dict(
    constructor='TransferOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=1e-6, convert_to_iter_based=True
    ),
]

# ResumableEpochBasedTrainLoop: mmengine's epoch loop, resumable from the middle of an epoch
# (a run stopped by SIGTERM continues with its next batch).
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=256, enable=False)
