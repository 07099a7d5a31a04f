"""mmtl's packages import downwards only: one walker over every module, lazy imports included.

The layers, lowest first; a module may import its own package and the layers below it:

- ``utils`` (with ``version``, ``lazy``): the ground floor;
- ``registry``: mmtl's registries (imports mmpretrain's);
- ``config``: loading, resolving and checking configs (checks read the registries);
- ``datasets``, ``models``, ``evaluation``, ``visualization``, ``deployment``: peers that do not
  import each other;
- ``engine``; then ``analysis``; then ``apis`` and ``advisor``; then ``search``; then
  ``__main__`` (``python -m mmtl``).
"""

import ast
import glob
import os.path as osp

import pytest
from mmtl_testing import REPO_ROOT

LAYERS = [
    {'version', 'lazy', 'utils'},
    {'registry'},
    {'config'},
    {'datasets', 'models', 'evaluation', 'visualization', 'deployment'},
    {'engine'},
    {'analysis'},
    {'apis', 'advisor'},
    {'search'},
    {'__main__'},  # python -m mmtl: the command line, above everything
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}

#: Upward imports still there: ``(importing file, imported package)``. Each entry must exist
#: (the test fails once it is gone, so the list stays true), and nothing else may.
PENDING = set()


def imports_in(source: str, package: str) -> set:
    """``(line, absolute module name)`` of every import in ``source``, at any depth.

    Args:
        source (str): Python source.
        package (str): The package the source is in (for relative imports).
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                parts = parts[: len(parts) - node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            found.add((node.lineno, base))
            found.update((node.lineno, f'{base}.{alias.name}') for alias in node.names)
    return found


def imports_of(path: str) -> set:
    """:func:`imports_in` of a file of the repository."""
    package = osp.relpath(osp.dirname(path), REPO_ROOT).replace(osp.sep, '.')
    with open(path, encoding='utf-8') as f:
        return imports_in(f.read(), package)


def package_of(module: str):
    parts = module.split('.')
    return parts[1] if parts[0] == 'mmtl' and len(parts) > 1 and parts[1] in LAYER_OF else None


def violations() -> set:
    """``(file, imported package)`` for every import of a higher layer or of a peer."""
    bad = set()
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'mmtl', '**', '*.py'), recursive=True)):
        relative = osp.relpath(path, REPO_ROOT)
        own = package_of(relative[: -len('.py')].replace(osp.sep, '.'))
        if own is None:  # mmtl/__init__.py
            continue
        for _, name in imports_of(path):
            other = package_of(name)
            if other is None or other == own:
                continue
            higher = LAYER_OF[other] > LAYER_OF[own]
            peer = LAYER_OF[other] == LAYER_OF[own] and LAYER_OF[own] > 0  # the ground may share
            if higher or peer:
                bad.add((relative, other))
    return bad


def test_every_package_has_a_layer():
    packages = {
        osp.basename(osp.dirname(p))
        for p in glob.glob(osp.join(REPO_ROOT, 'mmtl', '*', '__init__.py'))
    }
    modules = {
        osp.basename(p)[: -len('.py')]
        for p in glob.glob(osp.join(REPO_ROOT, 'mmtl', '*.py'))
        if not p.endswith('__init__.py')
    }
    assert packages | modules <= set(LAYER_OF), (packages | modules) - set(LAYER_OF)


def test_the_walker_sees_absolute_relative_and_lazy_imports():
    source = (
        'from ..datasets import x\n'
        'import mmtl.models.converters\n'
        'def f():\n'
        '    from mmtl.apis import init_model\n'
        'from .config import y\n'
    )
    names = {name for _, name in imports_in(source, 'mmtl.utils')}
    assert {'mmtl.datasets', 'mmtl.models.converters', 'mmtl.apis', 'mmtl.utils.config'} <= names


def test_packages_import_downwards_only():
    found = violations()
    assert found - PENDING == set(), f'new upward or peer imports: {sorted(found - PENDING)}'
    assert PENDING - found == set(), f'gone (remove from PENDING): {sorted(PENDING - found)}'


@pytest.mark.parametrize('name', ['input_size_from_config', 'find_test_pipeline'])
def test_the_input_size_and_test_pipeline_are_read_in_one_place(name):
    defined = []
    for path in glob.glob(osp.join(REPO_ROOT, 'mmtl', '**', '*.py'), recursive=True):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        defined += [
            osp.relpath(path, REPO_ROOT)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == name
        ]
    assert defined == ['mmtl/config/access.py']
