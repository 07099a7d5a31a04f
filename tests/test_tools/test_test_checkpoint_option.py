"""tools/test.py (mim test / mim run mmtl test): best, last, and a wrong checkpoint."""

import pytest
from mmtl_testing import REPO_ROOT, import_tool

from mmtl.utils.errors import ConfigError

DIGITS = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'


@pytest.fixture
def work_dir(tmp_path):
    for name in ('epoch_1.pth', 'epoch_2.pth', 'best_accuracy_top1_epoch_1.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    return tmp_path


def resolved(argv):
    tool = import_tool('tools/test.py')
    parser = tool.parser()
    args = parser.parse_args(argv)
    tool.resolve_checkpoint(parser, args)
    return args.checkpoint


@pytest.mark.parametrize(
    'given, expected',
    [
        ([], 'best_accuracy_top1_epoch_1.pth'),  # the default, said on the console
        (['--checkpoint', 'best'], 'best_accuracy_top1_epoch_1.pth'),
        (['last'], 'epoch_2.pth'),
        (['--checkpoint', 'last'], 'epoch_2.pth'),
    ],
)
def test_best_and_last_resolve_in_the_work_dir(work_dir, capsys, given, expected):
    path = resolved([DIGITS, *given, '--work-dir', str(work_dir)])
    assert path == str(work_dir / expected)
    which = 'last' if 'last' in given else 'best'
    assert f'testing the {which} checkpoint of {work_dir}: {path}' in capsys.readouterr().out


def test_a_wrong_checkpoint_names_the_option_and_lists_the_checkpoints(work_dir):
    with pytest.raises(ConfigError) as err:
        resolved([DIGITS, '--checkpoint', 'epoch_3.pth', '--work-dir', str(work_dir)])
    assert str(err.value) == (
        f"--checkpoint 'epoch_3.pth': not found; checkpoints in {work_dir}: "
        'best_accuracy_top1_epoch_1.pth, epoch_1.pth, epoch_2.pth'
    )
    with pytest.raises(ConfigError, match="^CHECKPOINT 'epoch_3.pth': not found"):
        resolved([DIGITS, 'epoch_3.pth', '--work-dir', str(work_dir)])


def test_mim_test_names_its_checkpoint_option(work_dir, tmp_path):
    import os.path as osp
    import subprocess
    import sys

    from mmtl_testing import tool_env

    mim = osp.join(osp.dirname(sys.executable), 'mim')
    argv = [mim, 'test', 'mmtl', DIGITS, '--checkpoint', 'epoch_3.pth', '--work-dir']
    result = subprocess.run(
        argv + [str(work_dir)], capture_output=True, text=True, env=tool_env(str(tmp_path))
    )
    assert result.returncode == 1
    assert "error: --checkpoint 'epoch_3.pth': not found; checkpoints in" in result.stderr
    assert 'Traceback' not in result.stderr, result.stderr
