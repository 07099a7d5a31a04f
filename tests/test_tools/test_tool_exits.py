"""Every tool ends through ``exit_tool``: a usage error or a one-line error under mim stays one
line (mim's own traceback is spared)."""

import ast
import glob
import os.path as osp

from mmtl_testing import REPO_ROOT

#: Tools that do not end through exit_tool, and why (tools/experiments/ holds the modules
#: that demo_transfer.py and fewshot_digits.py run).
EXCEPTIONS = {
    # The ONNX runner is copied into export bundles and runs without mmtl installed.
    'tools/deployment/onnx_infer.py',
}


def main_guard_calls(path: str) -> list:
    """The calls under ``if __name__ == '__main__':`` of a script, as source text."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    calls = []
    for node in tree.body:
        if isinstance(node, ast.If) and '__main__' in ast.unparse(node.test):
            calls += [ast.unparse(n) for n in node.body]
    return calls


def test_every_tool_with_a_main_guard_exits_through_exit_tool():
    scripts = glob.glob(osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True)
    offenders = []
    for path in sorted(scripts):
        relative = osp.relpath(path, REPO_ROOT)
        calls = main_guard_calls(path)
        if not calls or relative in EXCEPTIONS or relative.startswith('tools/experiments/'):
            continue
        if not any(call.startswith('exit_tool(') for call in calls):
            offenders.append(f'{relative}: {calls}')
    assert offenders == []
