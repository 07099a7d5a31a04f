# Strategy "linear probe" (small dataset, similar to the pretraining data): the pretrained
# RegNetX-400MF is a fixed feature extractor; only the new 30-class head trains.
_base_ = ['regnetx-400mf_fruit.py', '_base_/strategies/linear_probe.py']

model = {{_base_.strategy.model}}

# Only the head learns: a 10x larger lr than fine-tuning, no weight decay.
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=0.0))
