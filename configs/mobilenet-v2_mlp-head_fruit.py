# Fine-tuning with a deeper head: pooled features -> Linear(1280, 512) -> ReLU -> Dropout(0.3)
# -> Linear(512, 30), in place of the single linear classifier ("add 1-2 linear layers").
_base_ = ['mobilenet-v2_fruit.py']

model = dict(
    head=dict(
        _delete_=True,
        type='TransferClsHead',
        num_classes=30,
        in_channels=1280,
        hidden_channels=[512],
        dropout=0.3,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    )
)
