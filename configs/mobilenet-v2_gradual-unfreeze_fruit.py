# Strategy "gradual unfreezing": start as a linear probe, then unfreeze the backbone from the
# top down (epochs count from 1, as in the log), so the new head settles before the
# pretrained features move.
# Keys of _base_/strategies/gradual_unfreeze_mobilenet_v2.py, written out
# (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone.conv1']
    + [f'backbone.layer{i}' for i in range(1, 8)]
    + ['backbone.conv2'],
)
custom_hooks = [
    dict(
        type='GradualUnfreezeHook',
        schedule=[
            dict(epoch=3, modules=['backbone.conv2', 'backbone.layer7']),
            dict(epoch=5, modules=['backbone.layer6', 'backbone.layer5']),
            dict(epoch=8, modules=['backbone']),  # everything that is still frozen
        ],
    )
]
