"""List mmtl's tools, one line each: ``mim run mmtl tools``.

mim 0.3.9 answers ``mim run mmtl`` and ``mim run mmtl TOOL -h`` with its own help and "mmtl is
not an OpenMMLAB codebase" (its list of codebases is fixed), so this tool lists what
``mim run mmtl TOOL`` can run; ``mim run mmtl TOOL -- -h`` shows a tool's own help.
"""

import ast
import os
import os.path as osp
import sys
from typing import List, Tuple

TOOLS_DIR = osp.dirname(osp.abspath(__file__))


def tool_summaries(tools_dir: str = TOOLS_DIR) -> List[Tuple[str, str]]:
    """``(name, first docstring line)`` of every Python tool under ``tools_dir``, by name.

    A name two tools share is given as ``folder:name`` (mim's form for such tools).

    Args:
        tools_dir (str): The tools folder. Defaults to this file's.

    Returns:
        list[tuple[str, str]]: The name ``mim run mmtl`` takes and what the tool does.
    """
    found = []
    for folder, _, files in os.walk(tools_dir):
        for name in files:
            if not name.endswith('.py') or name.startswith('_'):
                continue
            path = osp.join(folder, name)
            with open(path, encoding='utf-8') as f:
                doc = ast.get_docstring(ast.parse(f.read())) or ''
            relative = osp.relpath(path, tools_dir)[: -len('.py')]
            found.append((relative, doc.strip().split('\n')[0]))
    bare = [osp.basename(relative) for relative, _ in found]
    named = [  # a name two tools share is given with its folder, as mim takes it
        (
            relative.replace(os.sep, ':')
            if bare.count(osp.basename(relative)) > 1
            else osp.basename(relative),
            summary,
        )
        for relative, summary in found
    ]
    return sorted(named)


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        print(__doc__.strip())
        return 0
    summaries = tool_summaries()
    width = max(len(name) for name, _ in summaries)
    print("mim run mmtl TOOL [ARGS]  (a tool's own help: mim run mmtl TOOL -- -h)")
    for name, summary in summaries:
        print(f'  {name:<{width}}  {summary}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
