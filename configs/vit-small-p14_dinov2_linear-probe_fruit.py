# Strategy "linear probe" (small dataset, similar to the pretraining data): the pretrained
# DINOv2 ViT-S/14 is a fixed feature extractor; only the new 30-class head trains.
# Keys of _base_/strategies/linear_probe.py, written out (two bases may not set one key).
_base_ = ['vit-small-p14_dinov2_fruit.py']

model = dict(type='TransferClassifier', frozen_modules=['backbone'])

# Only the head learns: a 10x larger lr than fine-tuning, no weight decay.
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
