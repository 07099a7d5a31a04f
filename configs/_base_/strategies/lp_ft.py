# Strategy "LP-FT" (linear probe, then fine-tune; Kumar et al., "Fine-Tuning can Distort
# Pretrained Features", 2022): the head learns on the frozen backbone first, so that a random
# head's gradients do not reach the pretrained features; from epoch 8 (a quarter of a 30-epoch
# recipe; set it to suit yours) everything trains, the backbone at 0.1x the head's lr.
model = dict(type='TransferClassifier', frozen_modules=['backbone'])
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
custom_hooks = [dict(type='GradualUnfreezeHook', schedule=[dict(epoch=8, modules=['backbone'])])]
