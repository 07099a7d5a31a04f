"""tools/infer.py against hostile inputs: special files, undecodable and hostile names, a class
list shorter than the head, a full disk.

Each was reproduced on the tool: a FIFO named ``x.jpg`` hung it forever, a file name that is
not UTF-8 killed the whole run, ``=HYPERLINK(...)``, tabs, newlines and ESC in class names
reached the CSV and the terminal raw, two class names for a 3-class head raised an IndexError,
and ENOSPC on ``--out`` ended in a traceback.
"""

import contextlib
import csv
import errno
import glob
import os
import os.path as osp
import re
import runpy
import shutil
import signal

import pytest
import torch
from mmtl_testing import REPO_ROOT, tool_status

from mmtl.apis import init_model

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
#: Printable class names that a spreadsheet would run; control characters come with file names.
HOSTILE_CLASSES = ('=HYPERLINK("http://x","a")', '-1+1', '@SUM(A1)')


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(osp.join(REPO_ROOT, 'tools', 'infer.py'))


@pytest.fixture(scope='module')
def model_files(tmp_path_factory, digits_root):
    """A 3-class config, and checkpoints of one random model with several class lists."""
    folder = tmp_path_factory.mktemp('hostile')
    config = folder / 'digits_3.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\nmodel = dict(head=dict(num_classes=3))\n')
    torch.manual_seed(0)
    model = init_model(str(config), cfg_options={'data_root': digits_root})
    checkpoints = {}
    for name, classes in (('hostile', HOSTILE_CLASSES), ('short', ('a', 'b'))):
        path = str(folder / f'{name}.pth')
        meta = {'dataset_meta': {'classes': classes}}
        torch.save({'meta': meta, 'state_dict': model.state_dict()}, path)
        checkpoints[name] = path
    return str(config), checkpoints


@pytest.fixture
def photos(tmp_path, digits_root):
    """Two good digits, a FIFO, a link to /dev/zero, a hidden folder, a name that is not UTF-8
    and a name with an ESC sequence."""
    folder = tmp_path / 'photos'
    (folder / '.ipynb_checkpoints').mkdir(parents=True)
    good = sorted(glob.glob(osp.join(digits_root, 'test', '1', '*.png')))[:3]
    shutil.copy(good[0], folder / 'a.png')
    shutil.copy(good[1], folder / '\x1b[2Jcls.png')
    shutil.copy(good[2], folder / '.ipynb_checkpoints' / 'a-checkpoint.png')
    shutil.copy(good[2], os.fsencode(folder) + b'/latin\xe9.png')
    os.mkfifo(folder / 'x.jpg')
    os.symlink('/dev/zero', folder / 'zero.png')
    return str(folder)


@contextlib.contextmanager
def fails_after(seconds):
    """Raise TimeoutError in the test instead of hanging (e.g. on a FIFO)."""

    def stop(signum, frame):
        raise TimeoutError(f'still running after {seconds} s')

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_special_files_and_bad_names_are_skipped_named_and_the_csv_written(
    tool, model_files, photos, tmp_path, capsys
):
    config, checkpoints = model_files
    out = str(tmp_path / 'preds.csv')
    with fails_after(120):
        code = tool['main']([config, checkpoints['hostile'], photos, '--out', out, '--no-progress'])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for shown, reason in (
        ('x.jpg', 'not a regular file'),
        ('zero.png', 'not a regular file'),
        ('latin\\xe9.png', 'file name is not valid UTF-8'),
    ):
        assert f'skipped\t{osp.join(photos, shown)}\t{reason}' in captured.err
    assert '3 files skipped' in captured.err
    with open(out, newline='', encoding='utf-8') as f:
        images = [row['image'] for row in csv.DictReader(f)]
    # the hidden folder is left out; the ESC of a file name is shown, not sent
    assert images == [osp.join(photos, '\\x1b[2Jcls.png'), osp.join(photos, 'a.png')]


def test_hostile_names_cannot_forge_rows_formulas_or_escapes(
    tool, model_files, digits_root, tmp_path, capsys
):
    config, checkpoints = model_files
    photos = tmp_path / 'photos'
    photos.mkdir()
    names = ['a\tb\nforged\t1.0000\n.png', '\x1b]0;pwn\x07.png', '\u202egnp.exe.png']
    for name, source in zip(names, sorted(glob.glob(osp.join(digits_root, 'test', '2', '*')))):
        shutil.copy(source, photos / name)
    out = str(tmp_path / 'preds.csv')
    argv = [config, checkpoints['hostile'], str(photos), '--out', out, '--topk', '3']
    assert tool['main']([*argv, '--no-progress']) == 0
    stdout = capsys.readouterr().out
    for char in '\x1b\x07\u202e':
        assert char not in stdout
    lines = stdout.splitlines()
    assert len(lines) == len(names) + 1  # one per image, then where the file went
    assert all(line.count('\t') == 2 for line in lines[:-1])
    with open(out, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    shown_names = ['a\\tb\\nforged\\t1.0000\\n.png', '\\x1b]0;pwn\\x07.png', '\\u202egnp.exe.png']
    expected = sorted(osp.join(str(photos), name) for name in shown_names)
    assert sorted(row['image'] for row in rows) == expected
    for row in rows:
        assert '\t' not in row['image'] and '\n' not in row['image']
        shown = {row[f'top{rank}_class'] for rank in (1, 2, 3)}
        assert shown == {"'" + name for name in HOSTILE_CLASSES}


def test_a_class_list_shorter_than_the_head_is_refused_naming_both_counts(
    tool, model_files, digits_root, capsys
):
    config, checkpoints = model_files
    image = sorted(glob.glob(osp.join(digits_root, 'test', '2', '*.png')))[0]
    assert tool['main']([config, checkpoints['short'], image, '--no-progress']) == 1
    err = capsys.readouterr().err
    # (init_model or the rows refuse it: either names both counts)
    assert re.search(r'names 2 classes for a (head of|model that scores) 3', err), err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_on_out_is_one_line_and_the_predictions_are_printed(
    tool, model_files, digits_root, tmp_path, capsys, monkeypatch
):
    from mmtl.utils import fileio

    @contextlib.contextmanager
    def full_disk(path, mode='wb'):
        raise OSError(errno.ENOSPC, 'No space left on device')
        yield

    monkeypatch.setattr(fileio, 'atomic_open', full_disk)
    config, checkpoints = model_files
    images = sorted(glob.glob(osp.join(digits_root, 'test', '0', '*.png')))[:2]
    out = str(tmp_path / 'preds.csv')
    argv = [config, checkpoints['hostile'], *images, '--out', out, '--no-progress']
    assert tool_status(tool['main'], argv) == 1
    captured = capsys.readouterr()
    assert f'error: cannot write {out}: No space left on device' in captured.err
    assert 'Traceback' not in captured.err
    assert [line.split('\t')[0] for line in captured.out.splitlines()] == images
    assert not osp.exists(out)
