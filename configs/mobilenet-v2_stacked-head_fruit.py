# Keep the ImageNet classifier and learn the fruit on top of its 1000 scores: pooled features
# -> fc: Linear(1280, 1000) (loaded from the ImageNet checkpoint, kept frozen with the backbone)
# -> new_fc: Linear(1000, 30). A linear probe on ImageNet's class scores.
_base_ = ['mobilenet-v2_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone', 'head.fc'],
    head=dict(
        _delete_=True,
        type='TransferClsHead',
        num_classes=30,
        in_channels=1280,
        source_classes=1000,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=0.0))
