# Strategy "full fine-tuning at one lr": everything trains from the pretrained weights, the
# backbone at the head's lr (lr_mult=1.0, set explicitly so that a config inheriting full-ft's
# 0.1 gets it replaced). For little data from a narrow source task (the few-shot digits table:
# features of 5 source digits) the backbone has to move as far as a network trained from
# scratch; full-ft's 0.1x backbone lr keeps it too close to the source.
strategy = dict(
    name='full-ft-1x',
    optim_wrapper=dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)})),
)
