# Strategy "MLP head": everything fine-tunes, with a hidden layer in the head: pooled features ->
# Linear(in, 512) -> ReLU -> Dropout(0.3) -> Linear(512, classes), in place of a linear
# classifier. For a model whose head is a linear classifier (LinearClsHead's keys).
model = dict(head=dict(type='TransferClsHead', hidden_channels=[512], dropout=0.3))
