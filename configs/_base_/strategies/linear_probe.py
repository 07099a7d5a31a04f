# Strategy "linear probe": the pretrained backbone is a fixed feature extractor (no gradients,
# BatchNorm in eval mode); only the new head trains.
model = dict(type='TransferClassifier', frozen_modules=['backbone'])
