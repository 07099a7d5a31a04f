"""Packages whose public names are imported on first use (PEP 562), for start-up time.

A package ``__init__`` that imported its submodules would make ``from pkg.small import x``
pay for all of them. This module imports only the standard library.
"""

import importlib
from typing import Any, Callable, Dict, List, Mapping, Tuple

__all__ = ['lazy_exports']


def lazy_exports(
    package: str, names: Mapping[str, str]
) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """Module ``__getattr__`` and ``__dir__`` that import each public name's submodule on use.

    Args:
        package (str): The package's ``__name__``.
        names (Mapping[str, str]): Public name -> the submodule of ``package`` (relative,
            dotted: ``'transforms.loading'``) that defines it.

    Returns:
        tuple: ``(__getattr__, __dir__)`` for the package's namespace. ``__getattr__`` also
        returns a submodule asked for by name (``mmtl.datasets.scan``), importing it, and
        raises ``AttributeError`` for anything else. A value, once looked up, is stored in
        the package's namespace, so later accesses cost nothing.
    """
    exports: Dict[str, str] = dict(names)

    def __getattr__(name: str) -> Any:
        submodule = exports.get(name)
        if submodule is None:
            try:
                return importlib.import_module(f'{package}.{name}')
            except ModuleNotFoundError as err:
                if err.name != f'{package}.{name}':
                    raise
                raise AttributeError(f'module {package!r} has no attribute {name!r}') from None
        value = getattr(importlib.import_module(f'{package}.{submodule}'), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> List[str]:
        namespace = vars(importlib.import_module(package))
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
