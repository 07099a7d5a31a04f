"""List mmtl's tools, one line each: ``mim run mmtl tools``.

mim 0.3.9 answers ``mim run mmtl`` and ``mim run mmtl TOOL -h`` with its own help and "mmtl is
not an OpenMMLAB codebase" (its list of codebases is fixed): ``mim run mmtl TOOL -- -h``, or
the ``mmtl`` command (``mmtl``, ``mmtl TOOL -h``), reach mmtl's tools and their help.
"""

from mmtl.utils.cli import exit_tool, print_tools

if __name__ == '__main__':
    usage = "usage: mim run mmtl TOOL [ARGS]  (a tool's help: mim run mmtl TOOL -- -h)"
    exit_tool(lambda: print_tools(usage))
