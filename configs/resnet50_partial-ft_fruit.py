# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the
# first two of ResNet-50's four stages stay frozen (generic edges and textures); stages 3-4
# and the head fine-tune.
# Keys of _base_/strategies/partial_ft_resnet50.py, written out (two bases may not set one key).
_base_ = ['resnet50_fruit.py']

model = dict(
    type='TransferClassifier',
    frozen_modules=['backbone.conv1', 'backbone.bn1', 'backbone.layer1', 'backbone.layer2'],
)
