"""mmtl's registries, children of mmpretrain's: under ``default_scope='mmtl'`` a type name is
looked up in mmtl's first, then in mmpretrain's and mmengine's. ``locations`` lists the modules
that register into each registry, so that building from a config imports them on demand."""

import importlib
import time

from mmengine.registry import DefaultScope, Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS',
    'RUNNER_CONSTRUCTORS',
    'LOOPS',
    'HOOKS',
    'LOG_PROCESSORS',
    'OPTIMIZERS',
    'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS',
    'DATASETS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    'MODELS',
    'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS',
    'BATCH_AUGMENTS',
    'TASK_UTILS',
    'METRICS',
    'EVALUATORS',
    'VISUALIZERS',
    'VISBACKENDS',
    'REGISTERING_MODULES',
    'register_all_modules',
]


def _child(name: str, parent: Registry, locations: list) -> Registry:
    """A registry named ``name`` under ``parent`` in the ``mmtl`` scope.

    Its ``locations`` are mmtl's modules and then the parent's: on a miss mmengine only reads
    the parent's table, so mmpretrain's modules must be imported from here too.
    """
    parent_locations = [loc for loc in parent._locations if loc not in locations]
    return Registry(name, parent=parent, scope='mmtl', locations=locations + parent_locations)


#: ModelSummaryHook sits in mmtl.analysis, above the engine (it uses the model analysis).
_ENGINE = ['mmtl.engine', 'mmtl.analysis.model_summary_hook']
#: The modules of ``mmtl.datasets`` that register something (the package itself imports
#: nothing up front); a test checks that the list is complete.
_DATASETS = [
    'mmtl.datasets.folder_dataset',
    'mmtl.datasets.samplers',
    'mmtl.datasets.batch_samplers',
    'mmtl.datasets.transforms.loading',
]
_MODELS = ['mmtl.models']
_EVALUATION = ['mmtl.evaluation']
_VISUALIZATION = ['mmtl.visualization']
#: Every module that registers into the registries below (``register_all_modules`` imports them).
REGISTERING_MODULES = _ENGINE + _DATASETS + _MODELS + _EVALUATION + _VISUALIZATION

RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor', mmpretrain_registry.RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', mmpretrain_registry.LOOPS, _ENGINE)
HOOKS = _child('hook', mmpretrain_registry.HOOKS, _ENGINE)
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS, _ENGINE)
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim wrapper', mmpretrain_registry.OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor', mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE
)
PARAM_SCHEDULERS = _child('parameter scheduler', mmpretrain_registry.PARAM_SCHEDULERS, _ENGINE)

DATASETS = _child('dataset', mmpretrain_registry.DATASETS, _DATASETS)
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS, _DATASETS)
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, _DATASETS)

MODELS = _child('model', mmpretrain_registry.MODELS, _MODELS)
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS, _MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer', mmpretrain_registry.WEIGHT_INITIALIZERS, _MODELS)
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS, _MODELS)
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS, _MODELS)

METRICS = _child('metric', mmpretrain_registry.METRICS, _EVALUATION)
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, _EVALUATION)

VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS, _VISUALIZATION)
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS, _VISUALIZATION)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmtl module that registers something, and optionally set the scope.

    Args:
        init_default_scope (bool): Make ``mmtl`` the default registry scope, so that type
            names resolve in mmtl's registries first, then in mmpretrain's. Defaults to True.
    """
    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    current = DefaultScope.get_current_instance()
    if init_default_scope and (current is None or current.scope_name != 'mmtl'):
        # The newest instance is the current one, and instance names must be unique.
        DefaultScope.get_instance(f'mmtl-{time.time_ns()}', scope_name='mmtl')
