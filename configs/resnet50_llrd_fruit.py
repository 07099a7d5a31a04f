# Strategy "layer-wise lr decay": full fine-tuning where each backbone stage gets 0.7x the lr
# of the stage above it (the head has the full lr 0.05, layer4 0.7x, layer3 0.49x, ..., the
# stem conv1 + bn1 0.7**5 = 0.17x). Early layers hold generic features and move least.
# Keys of _base_/strategies/llrd.py, written out (two bases may not set one key).
_base_ = ['resnet50_fruit.py']

optim_wrapper = dict(optimizer=dict(lr=0.05), paramwise_cfg=dict(layer_decay_rate=0.7))
