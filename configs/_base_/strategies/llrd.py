# Strategy "layer-wise lr decay": full fine-tuning where each backbone stage gets 0.7x the lr of
# the stage above it. Early layers hold generic features and move least.
strategy = dict(name='llrd', optim_wrapper=dict(paramwise_cfg=dict(layer_decay_rate=0.7)))
