# Exponential moving average of the weights (mmengine's EMAHook, momentum 1e-4 per iteration):
# validation, testing and the saved checkpoints use the averaged weights. Use it in a config after
# its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/ema.py']
#   custom_hooks = [{{_base_.ema_hook}}]
ema_hook = dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')
