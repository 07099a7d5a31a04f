# Strategy "linear probe" (small dataset, similar to the pretraining data): the pretrained
# EfficientNetV2-B0 is a fixed feature extractor; only the new 30-class head trains.
# Keys of _base_/strategies/linear_probe.py, written out (two bases may not set one key).
_base_ = ['efficientnetv2-b0_fruit.py']

model = dict(type='TransferClassifier', frozen_modules=['backbone'])

# Only the head learns: a 10x larger lr than fine-tuning, no weight decay.
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=0.0))
