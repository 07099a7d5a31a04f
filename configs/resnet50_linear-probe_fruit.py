# Strategy "linear probe" (small dataset, similar to ImageNet): the pretrained ResNet-50 is a
# fixed feature extractor; only the new 30-class linear head trains. The whole backbone is
# frozen: no gradients, BatchNorm statistics kept (eval mode), so it comes out of training
# bit-identical. Trainable parameters: 2048 x 30 + 30 = 61,470.
# Keys of _base_/strategies/linear_probe.py, written out (two bases may not set one key).
_base_ = ['resnet50_fruit.py']

model = dict(type='TransferClassifier', frozen_modules=['backbone'])

# Only a linear layer learns: a 10x larger lr than fine-tuning, no weight decay.
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=0.0))
