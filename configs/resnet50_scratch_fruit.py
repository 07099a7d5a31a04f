# Baseline "from scratch": the same network with random weights (no load_from). Needs a
# larger lr and many more epochs than fine-tuning, and a lot more data to match it.
# Keys of _base_/strategies/scratch.py, written out (two bases may not set one key).
_base_ = ['resnet50_fruit.py']

load_from = None
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=1e-4))
train_cfg = dict(max_epochs=100)
default_hooks = dict(early_stopping=dict(patience=20))
