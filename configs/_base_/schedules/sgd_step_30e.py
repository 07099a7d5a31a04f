# Fine-tuning with SGD: lr 0.01 for a total batch of 256 (8 GPUs x 32), divided by 10 at
# epochs 15 and 25. With auto_scale_lr enabled the lr is scaled to the batch actually used.
# TransferOptimWrapperConstructor (mmtl) = mmengine's default + frozen parameters kept in the
# optimizer (for gradual unfreezing) + optional paramwise_cfg.layer_decay_rate.
optim_wrapper = dict(
    constructor='TransferOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True),
)

param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True
    ),
    dict(type='MultiStepLR', by_epoch=True, milestones=[15, 25], gamma=0.1),
]

# ResumableEpochBasedTrainLoop: mmengine's epoch loop, resumable from the middle of an epoch
# (a run stopped by SIGTERM continues with its next batch).
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=256, enable=False)
