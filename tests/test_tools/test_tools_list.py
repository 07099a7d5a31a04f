"""mmtl's front door: ``mim run mmtl tools``, the ``mmtl`` command (``python -m mmtl``), and a
failing tool under mim ending in the tool's own lines (no mim traceback)."""

import glob
import os.path as osp
import subprocess
import sys

import pytest
from mmtl_testing import tool_env

from mmtl.utils.cli import find_tools

MIM = osp.join(osp.dirname(sys.executable), 'mim')


def run(args, tmp_path):
    return subprocess.run(
        args, capture_output=True, text=True, env=tool_env(str(tmp_path)), cwd=tmp_path
    )


def listed(stdout):
    lines = [line.split(None, 1) for line in stdout.splitlines() if line.startswith('  ')]
    return {name: summary for name, summary in lines}


def test_every_tool_is_found_once_with_a_summary():
    tools = find_tools()
    for name in ('train', 'test', 'infer', 'split_dataset', 'overfit_batch', 'tools'):
        assert tools[name][1], name
    # Two vis_cam tools: each named with its folder, as `mim run mmtl visualization:vis_cam`.
    assert 'visualization:vis_cam' in tools and 'visualizations:vis_cam' in tools
    assert all(summary and '\n' not in summary for _, summary in tools.values())
    assert tools['split_dataset'][0].endswith(osp.join('misc', 'split_dataset.py'))


def test_mim_run_mmtl_tools_prints_the_list(tmp_path):
    result = run([MIM, 'run', 'mmtl', 'tools'], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    tools = listed(result.stdout)
    assert tools['split_dataset'].startswith('Split a one-folder-per-class photo directory')
    assert len(tools) > 30
    assert 'mim run mmtl TOOL -- -h' in result.stdout


def test_the_mmtl_command_lists_the_tools_and_reaches_a_tools_help(tmp_path):
    result = run([sys.executable, '-m', 'mmtl'], tmp_path)
    assert result.returncode == 0, result.stderr
    assert listed(result.stdout) == {n: s for n, (_, s) in find_tools().items()}
    result = run([sys.executable, '-m', 'mmtl', 'split_dataset', '-h'], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('usage: split_dataset.py')
    assert '--ratios' in result.stdout


def test_the_mmtl_command_names_a_wrong_tool(tmp_path):
    result = run([sys.executable, '-m', 'mmtl', 'split_datset'], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mmtl: no tool 'split_datset' (did you mean split_dataset or verify_dataset or "
        "browse_dataset?); 'mmtl' lists them"
    )


@pytest.mark.parametrize('tool', ['split_dataset', 'train'])
def test_a_missing_argument_is_the_tools_usage_error_only(tmp_path, tool):
    result = run([sys.executable, '-m', 'mmtl', tool], tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(f'{tool}.py: error: the following')
    under_mim = run([MIM, 'run', 'mmtl', tool], tmp_path)
    assert under_mim.returncode == 1  # mim's "Aborted!": mim cannot exit with the tool's 2
    assert 'Traceback' not in under_mim.stderr, under_mim.stderr
    assert f'{tool}.py: error: the following arguments are required' in under_mim.stderr
    assert under_mim.stderr.strip().endswith('Aborted!')


def test_a_failing_tool_under_mim_ends_in_its_one_line(tmp_path):
    (tmp_path / 'empty' / 'train').mkdir(parents=True)
    result = run([MIM, 'run', 'mmtl', 'check_dataset', 'empty'], tmp_path)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr, result.stderr
    assert 'error: empty/train: no images' in result.stderr


def test_library_modules_do_not_import_the_cli_module():
    import ast

    from mmtl_testing import REPO_ROOT

    # The command-line entry points inside the package: `python -m mmtl`, a search trial.
    entry_points = {'mmtl/__main__.py', 'mmtl/utils/cli.py', 'mmtl/search/trial_runner.py'}
    offenders = []
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'mmtl', '**', '*.py'), recursive=True)):
        relative = osp.relpath(path, REPO_ROOT)
        if relative in entry_points or '.mim' in relative:
            continue
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or '').endswith('utils.cli'):
                offenders.append(relative)
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == 'utils'
                and any(alias.name == 'cli' for alias in node.names)
            ):
                offenders.append(relative)
    assert offenders == []
