# Strategy "full fine-tuning at the recipe's lr": everything trains from the pretrained weights
# with the recipe's optimizer as it is: the backbone at the head's lr, no custom_keys (which
# would also take the recipe's norm/bias decay multipliers away from the backbone). For little
# data from a narrow source task (the few-shot digits table: features of 5 source digits) the
# backbone has to move as far as a network trained from scratch; full-ft's 0.1x backbone lr
# keeps it too close to the source. Only load_from is set (by the caller), hence no keys here.
strategy = dict(name='full-ft-1x')
