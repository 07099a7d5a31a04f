"""mmtl's own registries: look-up tables with no mmpretrain parent, importable without torch.

:mod:`mmtl.registry` re-exports them beside the children of mmpretrain's registries (which
import mmpretrain and torch); the image decoder (:mod:`mmtl.datasets.transforms.image_io`)
imports its mode table from here, so that checking a dataset imports neither.
"""

from mmengine.registry import Registry

__all__ = [
    'MODE_CONVERTERS',
    'CHECKPOINT_CONVERTERS',
    'EXPORTERS',
    'DEPLOY_STEP_CONVERTERS',
    'LOOKUP_REGISTRIES',
]

#: Pillow colour mode -> function ``(image, background) -> RGB uint8 array``.
MODE_CONVERTERS = Registry(
    'mode converter', scope='mmtl', locations=['mmtl.datasets.transforms.image_io']
)

# Functions that turn a checkpoint in another library's layout (torchvision, timm) into the
# layout of mmtl's models; the safe checkpoint loader tries them in registration order (see
# mmtl.utils.checkpoint_converters). Not a child of mmpretrain's: mmpretrain has none.
CHECKPOINT_CONVERTERS = Registry(
    'checkpoint converter', scope='mmtl', locations=['mmtl.models.converters']
)

# Deployment (mmtl.deployment). Exporter classes by format name (``export.py --format``).
EXPORTERS = Registry('exporter', scope='mmtl', locations=['mmtl.deployment.exporters'])
# Test-pipeline transform type (``'Resize'``) -> function turning its config into a
# ``deploy.json`` preprocessing step that the ONNX runner replays.
DEPLOY_STEP_CONVERTERS = Registry(
    'deploy step converter', scope='mmtl', locations=['mmtl.deployment.meta']
)

#: Registries that are look-up tables keyed by a mode, a file layout, a format or a transform
#: name, never built from a config dict: the config-key checks skip their signatures, so that
#: ``DEPLOY_STEP_CONVERTERS['Resize']`` does not add its arguments to the keys of ``Resize``.
LOOKUP_REGISTRIES = (MODE_CONVERTERS, CHECKPOINT_CONVERTERS, EXPORTERS, DEPLOY_STEP_CONVERTERS)
