"""mmtl models: backbones and classifiers come from mmpretrain; transfer heads live here."""

from . import converters, necks  # noqa: F401
