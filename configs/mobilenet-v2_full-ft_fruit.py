# Strategy "full fine-tuning with a smaller backbone lr" (larger dataset): everything trains,
# the new head at lr 0.05 and the pretrained backbone at a tenth of it (lr_mult=0.1), so the
# random head does not wreck the pretrained features in the first epochs.
# Keys of _base_/strategies/full_ft.py, written out (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

optim_wrapper = dict(
    optimizer=dict(lr=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': {'lr_mult': 0.1}}),
)
