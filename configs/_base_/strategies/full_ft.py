# Strategy "full fine-tuning with a smaller backbone lr": everything trains, the pretrained
# backbone at a tenth of the head's lr, so the random head does not wreck the pretrained
# features in the first epochs.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
