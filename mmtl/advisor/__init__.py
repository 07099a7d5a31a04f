"""The transfer advisor: measure the data and the pretrained features, recommend a strategy."""
