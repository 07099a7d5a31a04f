# Fine-tuning with a deeper head: pooled features -> Linear(1280, 512) -> ReLU -> Dropout(0.3)
# -> Linear(512, 30), in place of the single linear classifier ("add 1-2 linear layers").
# Keys of _base_/strategies/mlp_head.py, written out (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

model = dict(head=dict(type='TransferClsHead', hidden_channels=[512], dropout=0.3))
