# Strategy "layer-wise lr decay": full fine-tuning where each backbone block of RegNetX-400MF gets
# 0.7x the lr of the block above it (transformer blocks one by one, through the backbone's own
# get_layer_depth where it has one). Early layers hold generic features and move least.
# Keys of _base_/strategies/llrd.py, written out (two bases may not set one key).
_base_ = ['regnetx-400mf_fruit.py']

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.7))
