"""``mim run mmtl tools``: every tool, one line each, under the name mim runs it by."""

import os.path as osp
import subprocess
import sys

from mmtl_testing import import_tool, tool_env


def test_every_tool_is_listed_once_with_a_summary():
    tools = import_tool('tools/tools.py')
    summaries = dict(tools.tool_summaries())
    assert len(summaries) == len(tools.tool_summaries())  # names are unique
    for name in ('train', 'test', 'infer', 'split_dataset', 'overfit_batch', 'tools'):
        assert summaries[name], name
    # Two vis_cam tools: each named with its folder, as `mim run mmtl visualization:vis_cam`.
    assert 'visualization:vis_cam' in summaries and 'visualizations:vis_cam' in summaries
    assert all(summary and '\n' not in summary for summary in summaries.values())


def test_mim_run_mmtl_tools_prints_the_list(tmp_path):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    result = subprocess.run(
        [mim, 'run', 'mmtl', 'tools'], capture_output=True, text=True, env=tool_env(str(tmp_path))
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.split(None, 1) for line in result.stdout.splitlines() if line.startswith('  ')]
    listed = {name: summary for name, summary in lines}
    assert listed['split_dataset'].startswith('Split a one-folder-per-class photo directory')
    assert len(listed) > 30
