# Keep the ImageNet classifier and learn the fruit on top of its 1000 scores: pooled features
# -> fc: Linear(1280, 1000) (loaded from the ImageNet checkpoint, kept frozen with the backbone)
# -> new_fc: Linear(1000, 30). A linear probe on ImageNet's class scores.
# Keys of _base_/strategies/stacked_head.py, written out (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone', 'head.fc'],
    head=dict(type='TransferClsHead', source_classes=1000),
)
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=0.0))
