# Exponential moving average of the weights (mmengine's EMAHook): validation, testing and the
# saved checkpoints use the averaged weights. Momentum 0.01 per iteration averages over about the
# last 100 steps, so a fine-tuning run of a few hundred steps ends on weights it trained; the
# ImageNet recipes' 1e-4 averages over 10,000 steps and leaves a short run near its starting
# weights (a random head). Use it in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/ema.py']
#   custom_hooks = [{{_base_.ema_hook}}]
ema_hook = dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')
