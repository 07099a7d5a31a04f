"""engine -> analysis -> apis -> engine: analysis and engine import nothing from mmtl.apis."""

import ast
import glob
import os.path as osp

import pytest
from mmtl_testing import REPO_ROOT


def imported_modules(path: str) -> set:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    package = osp.relpath(osp.dirname(path), REPO_ROOT).replace(osp.sep, '.')
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split('.')
            if node.level:
                base = base[: len(base) - node.level + 1]
                names.add('.'.join(base + ([node.module] if node.module else [])))
            else:
                names.add(node.module)
    return names


@pytest.mark.parametrize('package', ['analysis', 'engine'])
def test_package_imports_nothing_from_apis(package):
    offenders = {}
    for path in glob.glob(osp.join(REPO_ROOT, 'mmtl', package, '**', '*.py'), recursive=True):
        bad = sorted(m for m in imported_modules(path) if m.startswith('mmtl.apis'))
        if bad:
            offenders[osp.relpath(path, REPO_ROOT)] = bad
    assert offenders == {}


def test_the_input_size_is_read_in_one_place():
    defined = []
    for path in glob.glob(osp.join(REPO_ROOT, 'mmtl', '**', '*.py'), recursive=True):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        defined += [
            osp.relpath(path, REPO_ROOT)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == 'input_size_from_config'
        ]
    assert defined == ['mmtl/utils/config_access.py']
