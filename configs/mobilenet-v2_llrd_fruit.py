# Strategy "layer-wise lr decay": full fine-tuning where each backbone stage gets 0.7x the lr
# of the stage above it (the head has the full lr 0.05, the last backbone block 0.7x, the
# stem 0.7**9 = 0.04x). Early layers hold generic features and move least.
# Keys of _base_/strategies/llrd.py, written out (two bases may not set one key).
_base_ = ['mobilenet-v2_fruit.py']

optim_wrapper = dict(optimizer=dict(lr=0.05), paramwise_cfg=dict(layer_decay_rate=0.7))
