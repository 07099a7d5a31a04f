"""mmtl models: backbones and classifiers come from mmpretrain; transfer heads live here."""
