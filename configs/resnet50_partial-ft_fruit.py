# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the stem and the
# first two of ResNet-50's four stages stay frozen (generic edges and textures); stages 3-4
# and the head fine-tune.
_base_ = ['resnet50_fruit.py', '_base_/strategies/partial_ft_resnet50.py']

model = {{_base_.strategy.model}}
