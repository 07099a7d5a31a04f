"""Export trained classifiers to ONNX / TorchScript and run them without mmengine.

:mod:`mmtl.deployment.onnx_inferencer` imports only numpy, OpenCV and onnxruntime; load it by
file path (as ``tools/deployment/onnx_infer.py`` does) to keep mmengine out of the process.
Exporters and pipeline-step converters are plain dicts (``EXPORTERS``, ``STEP_CONVERTERS``):
a new format is an :class:`Exporter` subclass added to the first, a step a function
``transform cfg -> step`` added to the second.
"""

from .errors import ExportError
from .export import ExportableClassifier, export_classifier, export_module
from .exporters import EXPORTERS, Exporter, build_exporter, export_formats
from .meta import STEP_CONVERTERS, build_deploy_meta, pipeline_to_steps
from .onnx_inferencer import OnnxClassifier

__all__ = [
    'EXPORTERS',
    'ExportError',
    'ExportableClassifier',
    'Exporter',
    'OnnxClassifier',
    'STEP_CONVERTERS',
    'build_deploy_meta',
    'build_exporter',
    'export_classifier',
    'export_formats',
    'export_module',
    'pipeline_to_steps',
]
