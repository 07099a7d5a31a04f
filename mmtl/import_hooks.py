"""Run a callback when a module is imported: registrations without importing the stack early.

``import mmtl`` must make mmengine load checkpoints through mmtl's safe loaders, but importing
mmengine's checkpoint module costs torch. :func:`when_imported` runs the registration at
once when the module is already imported, else right after it is first imported (before the
importer gets the module back), so nothing can use it unregistered. This module imports only
the standard library.
"""

import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence

__all__ = ['when_imported']

_callbacks: Dict[str, List[Callable[[ModuleType], None]]] = {}
_lock = threading.RLock()


class _CallbackLoader(importlib.abc.Loader):
    """Wraps a module's loader: executes the module, then runs the callbacks waiting on it."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        with _lock:
            callbacks = _callbacks.pop(module.__name__, [])
        for callback in callbacks:
            callback(module)

    def __getattr__(self, name: str):  # get_source, is_package, ... of the wrapped loader
        return getattr(self._loader, name)


class _CallbackFinder(importlib.abc.MetaPathFinder):
    """Finds a watched module through the other finders and wraps its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]],
        target: Optional[ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in _callbacks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _CallbackLoader(spec.loader)
                return spec
        return None


_FINDER = _CallbackFinder()


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` once module ``name`` is imported: now if it already is.

    Args:
        name (str): The module's full name, e.g. ``'mmengine.runner.checkpoint'``.
        callback (callable): Called with the module, once, right after the module's code
            has run and before the import statement that loaded it returns.
    """
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _callbacks.setdefault(name, []).append(callback)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return
    callback(module)
