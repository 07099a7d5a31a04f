"""requirements/lock.txt is current with the top-level requirement files and drives the install.

The lock is compiled by ``uv pip compile`` (the command is in its header) from
requirements/runtime.txt and requirements/tests.txt (and the files they include). Re-resolving
needs the registry, so these tests compare instead: every top-level requirement is locked at a
version it accepts, and every package the lock says a top-level file asked for is still asked
for there.
"""

import os.path as osp
import re
import shlex
from importlib import metadata
from typing import Dict, List, Set, Tuple

from mmtl_testing import REPO_ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = 'requirements/lock.txt'
TOP_LEVEL = ('requirements/runtime.txt', 'requirements/tests.txt')
REFRESH = 'refresh it as docs/install.md says ("The lock")'


def read_top_level(root: str, path: str) -> Dict[str, List[Requirement]]:
    """Requirements of ``path`` (relative to ``root``) and of the files it includes.

    Returns:
        dict: ``root``-relative file name -> its requirements, ``-r`` files as their own keys.
    """
    files: Dict[str, List[Requirement]] = {path: []}
    with open(osp.join(root, path), encoding='utf-8') as f:
        lines = [line.split('#', 1)[0].strip() for line in f]
    for line in filter(None, lines):
        if line.startswith('-r '):
            included = osp.normpath(osp.join(osp.dirname(path), line[3:].strip()))
            files.update(read_top_level(root, included))
        else:
            files[path].append(Requirement(line))
    return files


def read_lock(root: str) -> Tuple[List[str], Dict[str, str], Dict[str, Set[str]]]:
    """The compile command of the lock's header, its pins and what asked for each.

    Returns:
        tuple: The command's arguments; canonical name -> pinned version; canonical name ->
        the ``-r FILE`` sources of its ``# via`` annotation.
    """
    with open(osp.join(root, LOCK), encoding='utf-8') as f:
        lines = f.read().splitlines()
    command = shlex.split(lines[1].lstrip('#').strip())
    pins: Dict[str, str] = {}
    sources: Dict[str, Set[str]] = {}
    current = None
    for line in lines[2:]:
        if not line.strip():
            continue
        if not line.startswith(' '):
            match = re.fullmatch(r'([A-Za-z0-9._-]+)==([^\s;]+)', line.strip())
            assert match, f'{LOCK}: not an exact pin: {line!r}'
            current = canonicalize_name(match.group(1))
            assert current not in pins, f'{LOCK}: {current} is locked twice'
            pins[current] = match.group(2)
            sources[current] = set()
        else:
            source = re.search(r'-r (\S+)', line)
            if source and current:
                sources[current].add(source.group(1))
    return command, pins, sources


def unlocked_requirements(root: str) -> List[str]:
    """Top-level requirements missing from the lock or locked at a version they refuse."""
    _, pins, _ = read_lock(root)
    problems = []
    for path in TOP_LEVEL:
        for file, requirements in read_top_level(root, path).items():
            for req in requirements:
                name = canonicalize_name(req.name)
                if name not in pins:
                    problems.append(f'{file}: {req} is not in {LOCK}')
                elif not req.specifier.contains(pins[name], prereleases=True):
                    problems.append(f'{file}: {req} but {LOCK} has {pins[name]}')
    return problems


def stale_lock_entries(root: str) -> List[str]:
    """Lock entries asked for by a top-level file (``# via -r FILE``) that no longer asks."""
    _, _, sources = read_lock(root)
    asked: Dict[str, Set[str]] = {}
    for path in TOP_LEVEL:
        for file, requirements in read_top_level(root, path).items():
            asked[file] = {canonicalize_name(req.name) for req in requirements}
    return [
        f'{name} (via -r {file})'
        for name, files in sorted(sources.items())
        for file in sorted(files)
        if name not in asked.get(file, set())
    ]


def test_lock_is_compiled_from_the_top_level_files():
    command, pins, _ = read_lock(REPO_ROOT)
    assert command[:3] == ['uv', 'pip', 'compile'], command
    inputs = [arg for arg in command[3:] if arg.endswith('.txt') and arg != LOCK]
    assert tuple(inputs) == TOP_LEVEL, command
    assert command[command.index('--python-version') + 1] == '3.11'
    assert len(pins) > 50  # every transitive package, not only the top-level ones


def test_every_top_level_requirement_is_locked_at_a_version_it_accepts():
    problems = unlocked_requirements(REPO_ROOT)
    assert not problems, '; '.join(problems) + f': {REFRESH}'


def test_every_package_the_lock_says_a_file_asked_for_is_still_asked_for():
    stale = stale_lock_entries(REPO_ROOT)
    assert not stale, f'{LOCK} is stale: {", ".join(stale)}: {REFRESH}'


def test_lock_checks_find_a_stale_lock(tmp_path):
    """A new requirement, a pin outside a range, a dropped requirement: each is named."""
    requirements = tmp_path / 'requirements'
    requirements.mkdir()
    (requirements / 'runtime.txt').write_text('torch==2.14.1\nnumpy>=3\n')
    (requirements / 'tests.txt').write_text('-r extra.txt\n')
    (requirements / 'extra.txt').write_text('pytest\n')
    (tmp_path / LOCK).write_text(
        '# This file was autogenerated by uv via the following command:\n'
        '#    uv pip compile requirements/runtime.txt requirements/tests.txt '
        '--python-version 3.11 -o requirements/lock.txt\n'
        'numpy==2.4.6\n    # via -r requirements/runtime.txt\n'
        'ruff==0.17.6\n    # via -r requirements/extra.txt\n'
        'torch==2.14.1\n    # via -r requirements/runtime.txt\n'
    )
    assert unlocked_requirements(str(tmp_path)) == [
        'requirements/runtime.txt: numpy>=3 but requirements/lock.txt has 2.4.6',
        'requirements/extra.txt: pytest is not in requirements/lock.txt',
    ]
    assert stale_lock_entries(str(tmp_path)) == ['ruff (via -r requirements/extra.txt)']
    (requirements / 'extra.txt').write_text('pytest\nruff\n')
    (requirements / 'runtime.txt').write_text('torch==2.14.1\nnumpy>=2\n')
    with open(tmp_path / LOCK, 'a') as f:
        f.write('pytest==9.2.0\n    # via -r requirements/extra.txt\n')
    assert unlocked_requirements(str(tmp_path)) == stale_lock_entries(str(tmp_path)) == []


def test_this_environment_is_the_locked_one():
    """tools/setup_env.sh installed the lock: every locked package at its locked version."""
    _, pins, _ = read_lock(REPO_ROOT)
    wrong = []
    for name, version in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = 'missing'
        if installed != version:
            wrong.append(f'{name} {installed} (lock: {version})')
    assert not wrong, (
        f'this environment is not {LOCK}: {", ".join(wrong)}; '
        'run bash tools/setup_env.sh (MMTL_VENV=this environment)'
    )


def test_an_unlocked_install_takes_ranges():
    """``pip install mmtl`` gets setup.py's requirements: ranges, exact only where they must be."""
    import importlib.util

    spec = importlib.util.spec_from_file_location('mmtl_setup', osp.join(REPO_ROOT, 'setup.py'))
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # setup() itself runs only under __main__
    runtime = [Requirement(line) for line in setup.read_requirements('requirements/runtime.txt')]
    exact = {req.name for req in runtime if any(s.operator == '==' for s in req.specifier)}
    assert exact == {'torch', 'torchvision'}  # torchvision pins its torch
    _, pins, _ = read_lock(REPO_ROOT)
    assert all(req.specifier.contains(pins[canonicalize_name(req.name)]) for req in runtime)
