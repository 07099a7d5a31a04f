# Strategy "full fine-tuning at the recipe's lr": everything trains from the pretrained weights
# with the recipe's optimizer as it is, the backbone at the head's lr. No custom_keys: they would
# also take the recipe's norm/bias decay multipliers away from the backbone. For little data from
# a narrow source task the backbone has to move as far as a network trained from scratch, and
# full-ft's 0.1x backbone lr keeps it too close to the source. It sets no key.
