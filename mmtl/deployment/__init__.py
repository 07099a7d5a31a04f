"""Export trained classifiers to ONNX / TorchScript and run them without mmengine.

:mod:`mmtl.deployment.onnx_inferencer` imports only numpy, OpenCV and onnxruntime; load it by
file path (as ``tools/deployment/onnx_infer.py`` does) to keep mmengine out of the process.
Exporters and pipeline-step converters are plain dicts (``EXPORTERS``, ``STEP_CONVERTERS``):
a new format is an :class:`Exporter` subclass added to the first, a step a function
``transform cfg -> step`` added to the second.
"""

from .errors import ExportError
from .export import PARITY_ATOL, PARITY_RTOL, export_classifier, export_module
from .exporters import (
    DEFAULT_OPSET,
    EXPORTERS,
    Exporter,
    build_exporter,
    export_formats,
)
from .meta import STEP_CONVERTERS, build_deploy_meta, pipeline_to_steps
from .onnx_inferencer import DEPLOY_META_FILE, PREPROCESS_STEPS, OnnxClassifier
from .wrapper import ExportableClassifier

__all__ = [
    'DEFAULT_OPSET',
    'DEPLOY_META_FILE',
    'EXPORTERS',
    'ExportError',
    'ExportableClassifier',
    'Exporter',
    'OnnxClassifier',
    'PARITY_ATOL',
    'PARITY_RTOL',
    'PREPROCESS_STEPS',
    'STEP_CONVERTERS',
    'build_deploy_meta',
    'build_exporter',
    'export_classifier',
    'export_formats',
    'export_module',
    'pipeline_to_steps',
]
