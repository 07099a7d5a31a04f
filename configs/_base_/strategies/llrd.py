# Strategy "layer-wise lr decay": full fine-tuning where each backbone block gets 0.7x the lr of
# the block above it. Early layers hold generic features and move least.
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.7))
