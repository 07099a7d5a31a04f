"""Install mmtl together with its mim extension folder (``mmtl/.mim``).

``mim train/test/run mmtl`` look for configs and tools under ``mmtl/.mim``. A development
install links them there (edits show up at once); a normal install copies them into the
package so that the wheel is self-contained.
"""

import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

PROJECT_ROOT = osp.dirname(osp.abspath(__file__))
MIM_DIR = osp.join(PROJECT_ROOT, 'mmtl', '.mim')
MIM_ITEMS = ('configs', 'tools', 'model-index.yml')
# setuptools commands that install the source tree in place rather than copying it.
DEVELOP_COMMANDS = ('develop', 'editable_wheel')


def read_version() -> str:
    """Return ``__version__`` from ``mmtl/version.py`` without importing the package."""
    namespace: dict = {}
    with open(osp.join(PROJECT_ROOT, 'mmtl', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(path: str) -> list:
    """Return the requirement lines of ``path``, comments and blanks dropped.

    ``-r other.txt`` lines (relative to ``path``) are replaced by that file's requirements.
    """
    with open(osp.join(PROJECT_ROOT, path), encoding='utf-8') as f:
        lines = [line.split('#', 1)[0].strip() for line in f]
    requirements = []
    for line in filter(None, lines):
        if line.startswith('-r '):
            requirements += read_requirements(osp.join(osp.dirname(path), line[3:].strip()))
        else:
            requirements.append(line)
    return requirements


def is_develop_install() -> bool:
    """Whether setuptools was asked for an in-place (editable) install."""
    return any(command in sys.argv for command in DEVELOP_COMMANDS)


def add_mim_extension() -> None:
    """Populate ``mmtl/.mim`` with links (develop) or copies (normal install)."""
    use_links = is_develop_install()
    os.makedirs(MIM_DIR, exist_ok=True)
    for name in MIM_ITEMS:
        src = osp.join(PROJECT_ROOT, name)
        if not osp.exists(src):
            continue
        dst = osp.join(MIM_DIR, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if use_links:
            os.symlink(osp.relpath(src, MIM_DIR), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmtl',
        version=read_version(),
        description='Transfer learning for image classification on the OpenMMLab stack',
        long_description=open(osp.join(PROJECT_ROOT, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(include=('mmtl', 'mmtl.*')),
        include_package_data=True,
        package_data={'mmtl': ['.mim/**/*', '.mim/*']},
        install_requires=read_requirements('requirements/runtime.txt'),
        extras_require={
            name: read_requirements(f'requirements/{name}.txt')
            for name in ('tests', 'search', 'track')
        },
        # `mmtl` (= python -m mmtl): lists the tools, `mmtl TOOL -h` reaches a tool's help;
        # mim answers both with its own help ("not an OpenMMLAB codebase").
        entry_points={'console_scripts': ['mmtl = mmtl.utils.cli:main']},
        zip_safe=False,
        license='Apache License 2.0',
    )
