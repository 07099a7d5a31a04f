# Strategy "stacked head": keep the pretrained (ImageNet) classifier and learn the new classes on
# top of its 1000 scores: pooled features -> fc: Linear(in, 1000) (filled by load_from, frozen
# with the backbone) -> new_fc: Linear(1000, classes). A linear probe on the source task's class
# scores. For a model whose head is a linear classifier (LinearClsHead's keys).
model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone', 'head.fc'],
    head=dict(type='TransferClsHead', source_classes=1000),
)
