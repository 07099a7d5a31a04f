"""Inference lists regular files only, like the training scan, and every inference path lists
the same files.

A FIFO named ``x.jpg`` hung ``tools/infer.py`` forever, a link to ``/dev/zero`` was read until
memory ran out, and the ONNX runner classified the images of hidden folders
(``.ipynb_checkpoints``) that ``inference_model`` leaves out. Nothing here opens a file: if a
special file were read, the listing would not be where it hangs.
"""

import os
import os.path as osp
import shutil
import socket

import pytest

from mmtl.apis import inference_model
from mmtl.datasets.listing import expand_inputs
from mmtl.datasets.scan import check_image_file
from mmtl.deployment.onnx_inferencer import mmtl_file


@pytest.fixture
def photos(tmp_path, digits_root):
    """A folder of 2 good images and every kind of file that must not be read."""
    folder = tmp_path / 'photos'
    (folder / '.ipynb_checkpoints').mkdir(parents=True)
    (folder / 'sub').mkdir()
    good = sorted(os.listdir(osp.join(digits_root, 'test', '1')))[:2]
    source = [osp.join(digits_root, 'test', '1', name) for name in good]
    shutil.copy(source[0], folder / 'a.png')
    shutil.copy(source[1], folder / 'sub' / 'b.png')
    shutil.copy(source[0], folder / '.ipynb_checkpoints' / 'a-checkpoint.png')
    shutil.copy(source[0], folder / '.hidden.png')
    os.mkfifo(folder / 'x.jpg')  # a FIFO: opening it for reading waits for a writer
    os.symlink('/dev/zero', folder / 'zero.png')  # endless bytes
    os.symlink('/dev/null', folder / 'null.jpeg')  # a character device
    os.symlink(str(folder / 'missing.png'), folder / 'dangling.png')
    (folder / 'empty.png').write_bytes(b'')
    with open(os.fsencode(folder) + b'/latin\xe9.png', 'wb') as f:  # not valid UTF-8
        with open(source[0], 'rb') as image:
            f.write(image.read())
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / 'sock.png'))  # a socket
    yield str(folder)
    server.close()


EXPECTED_SKIPS = {
    'x.jpg': 'not a regular file',
    'zero.png': 'not a regular file',
    'null.jpeg': 'not a regular file',
    'sock.png': 'not a regular file',
    'dangling.png': 'broken symbolic link',
    'empty.png': 'empty file, 0 bytes',
    'latin\udce9.png': 'file name is not valid UTF-8',
}


def check_listing(photos, images, skipped):
    assert images == [osp.join(photos, 'a.png'), osp.join(photos, 'sub', 'b.png')]
    reasons = {osp.basename(path): reason for path, reason in skipped}
    assert set(reasons) == set(EXPECTED_SKIPS)
    for name, reason in EXPECTED_SKIPS.items():
        assert reasons[name].startswith(reason), (name, reasons[name])


def test_inference_model_lists_regular_visible_files_only(photos):
    skipped = []
    images = expand_inputs(photos, skipped)
    check_listing(photos, images, skipped)


def test_onnx_runner_lists_the_same_files(photos):
    skipped = []
    images = mmtl_file('listing.py').expand_inputs(photos, skipped)
    check_listing(photos, images, skipped)
    assert images == expand_inputs(photos, [])


def test_a_special_file_named_or_matched_is_skipped_with_its_reason(photos):
    skipped = []
    fifo, zero = osp.join(photos, 'x.jpg'), osp.join(photos, 'zero.png')
    assert expand_inputs([fifo, zero, osp.join(photos, '*.jpg')], skipped) == []
    not_regular = 'not a regular file'
    # the glob matches the FIFO (x.jpg) again: it is named, not dropped in silence
    assert skipped == [(fifo, not_regular), (zero, not_regular), (fifo, not_regular)]


def test_a_single_unread_file_is_named(photos):
    # The listing refuses it before any model is used.
    with pytest.raises(ValueError, match=r'x\.jpg: not a regular file'):
        inference_model(None, osp.join(photos, 'x.jpg'))


def test_training_scan_and_inference_refuse_special_files_alike(photos):
    for name, reason in EXPECTED_SKIPS.items():
        if name.startswith('latin'):
            continue  # training reads such a name: it is never written to a UTF-8 output
        assert check_image_file(osp.join(photos, name)).startswith(reason), name


def test_check_dataset_names_bad_files_escaped(tmp_path, capsys):
    import runpy

    from mmtl_testing import REPO_ROOT

    folder = tmp_path / 'data' / 'train' / 'cat'
    folder.mkdir(parents=True)
    (folder / '\x1b[2Jgone\n.png').write_bytes(b'')  # clears the screen, forges a line
    os.mkfifo(folder / 'x.jpg')
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'check_dataset.py'))
    assert tool['main']([str(tmp_path / 'data')]) == 1
    out = capsys.readouterr().out
    assert '\x1b' not in out
    assert f'  bad: {folder}/\\x1b[2Jgone\\n.png: empty file, 0 bytes' in out.splitlines()
    assert f'  bad: {folder}/x.jpg: not a regular file' in out.splitlines()
