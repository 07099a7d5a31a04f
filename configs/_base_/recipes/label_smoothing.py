# Label smoothing 0.1 (mmpretrain's LabelSmoothLoss): the target puts 0.9 on the true class and
# spreads 0.1 over all classes. Use it in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/label_smoothing.py']
#   model = dict(head=dict(loss={{_base_.label_smoothing_loss}}))
label_smoothing_loss = dict(
    type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0
)
