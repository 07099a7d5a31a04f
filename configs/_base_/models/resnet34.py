# ResNet-34 image classifier. A fine-tuning config sets the class count:
#   model = dict(head=dict(num_classes=30))
_base_ = ['./resnet50.py']

model = dict(backbone=dict(depth=34), head=dict(in_channels=512))
