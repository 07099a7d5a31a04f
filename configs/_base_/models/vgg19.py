# VGG-19 image classifier, laid out like torchvision's: conv features, average pooling to 7x7,
# then the three fully connected layers (4096, 4096, classes) with ReLU and dropout. A
# fine-tuning config sets the class count, which replaces only the last layer:
#   model = dict(head=dict(num_classes=30))
# Published weights: https://download.pytorch.org/models/vgg19-dcbb9e9d.pth
#   ImageNet-1k top-1 72.376 % at 224 px (torchvision's weights table), licence BSD-3-Clause;
#   converted to this layout as they load.
pretrained_url = 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'

model = dict(
    type='TransferClassifier',
    backbone=dict(type='VGG', depth=19),  # no built-in classifier: out_indices=(4,)
    neck=dict(type='AdaptivePoolFlatten', output_size=7),  # any input size, as in torchvision
    head=dict(
        type='StackedLinearClsHead',
        num_classes=1000,
        in_channels=512 * 7 * 7,
        mid_channels=[4096, 4096],
        dropout_rate=0.5,
        # class_weight='auto': inverse class frequency of the training split (imbalanced data)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, class_weight=None),
        topk=(1, 5),
    ),
)
