"""``python tools/X.py --help`` imports no torch (#16 start-up).

Each tool keeps argparse, the standard library and :mod:`mmtl.utils.cli` at module level and
imports the heavy stack in ``main()`` after parsing. No timing here (the benchmark
``benchmarks/bench_startup.py`` measures it): one fresh interpreter runs every tool's
``--help`` and reports the tools after whose help ``torch`` was in ``sys.modules``.
"""

import glob
import os.path as osp

from mmtl_testing import REPO_ROOT, run_probe

#: Not in this guard yet: the ``timm`` helper's files (converters, demo), and tools whose
#: ``--help`` lists choices read from modules that import torch (exporters, Grad-CAM methods,
#: few-shot strategies), and check_dataset (see mmtl.datasets.folder_dataset);
#: tools/experiments/ holds modules the demo and few-shot tools import, not tools.
NOT_GUARDED = (
    'tools/experiments/',
    'tools/model_converters/',
    'tools/demo_transfer.py',
    'tools/deployment/export.py',
    'tools/visualization/vis_cam.py',
    'tools/visualizations/vis_cam.py',
    'tools/fewshot_digits.py',
    'tools/check_dataset.py',
)

_PROBE = r"""
import contextlib, io, json, runpy, sys  # noqa: E401
heavy = {}
for tool in TOOLS:
    if 'torch' in sys.modules:  # torch cannot be unloaded: the first offender ends the loop
        break
    sys.argv = [tool, '--help']
    code = None
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_path(tool, run_name='__main__')
        except SystemExit as exit:
            code = exit.code
    heavy[tool] = ['torch' in sys.modules, code in (0, None)]
print('REPORT' + json.dumps(heavy))
"""


def guarded_tools():
    tools = sorted(glob.glob(osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True))
    return [
        t for t in tools if not any(osp.relpath(t, REPO_ROOT).startswith(n) for n in NOT_GUARDED)
    ]


def test_tools_help_imports_no_torch(tmp_path):
    tools = guarded_tools()
    assert len(tools) > 20
    probe = _PROBE.replace('TOOLS', repr(tools))
    report = run_probe(probe, str(tmp_path), timeout=600)
    failed = [t for t, (_, ok) in report.items() if not ok]
    assert not failed, f'--help did not exit 0: {failed}'
    with_torch = [osp.relpath(t, REPO_ROOT) for t, (torch, _) in report.items() if torch]
    assert not with_torch, f'--help imported torch: {with_torch}'
    assert len(report) == len(tools)
