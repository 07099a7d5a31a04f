"""Registration of mmtl's modules and of its checkpoint loaders."""

import datetime
import importlib
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmtl module that registers something, and optionally set the scope.

    Args:
        init_default_scope (bool): Make ``mmtl`` the default registry scope, so that type
            names resolve in mmtl's registries first, then in mmpretrain's. Defaults to True.
    """
    from mmtl.registry import REGISTERING_MODULES

    for module in REGISTERING_MODULES:
        importlib.import_module(module)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmtl':
        name = f'mmtl-{datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")}'
        if current is not None:
            warnings.warn(
                f'The current default scope "{current.scope_name}" is not "mmtl"; '
                f'switching to "mmtl" as {name}.',
                stacklevel=2,
            )
        DefaultScope.get_instance(name, scope_name='mmtl')
