"""Bad data: the scan before training, bad_file_policy, and files that go bad during training."""

import io
import os
import os.path as osp
import shutil
import sys
import tempfile

import numpy as np
import pytest
from mmtl_testing import REPO_ROOT
from PIL import Image

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.datasets import FolderDataset
from mmtl.datasets.scan import check_image_file, scan_image_files
from mmtl.utils.errors import BadDataError


def image_bytes(fmt='PNG', size=(12, 10), mode='RGB', seed=0):
    """The bytes of a random image of ``size`` (width, height) in ``fmt``."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, fmt)
    return buffer.getvalue()


def write(path, data):
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def good_split(root, split='train', classes=('a', 'b'), per_class=2):
    """``root/split/<class>/<i>.png`` good images; returns their paths."""
    return [
        write(root / split / name / f'{i}.png', image_bytes(seed=i))
        for name in classes
        for i in range(per_class)
    ]


def paths_of(dataset):
    return sorted(dataset.get_data_info(i)['img_path'] for i in range(len(dataset)))


# --------------------------------------------------------------------------------------------
# check_image_file: one verdict per kind of bad file
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'BMP', 'TIFF', 'WEBP', 'PPM'])
def test_complete_images_are_good(tmp_path, fmt):
    assert check_image_file(write(tmp_path / 'x.img', image_bytes(fmt))) is None


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'BMP', 'TIFF', 'WEBP'])
def test_truncated_images_are_bad(tmp_path, fmt):
    data = image_bytes(fmt, size=(64, 48))
    path = write(tmp_path / 'x.img', data[: len(data) * 3 // 4])
    assert check_image_file(path).startswith('corrupt or truncated image')


def test_each_kind_of_bad_file_gets_its_reason(tmp_path):
    cases = {
        'zero.jpg': b'',
        'text.jpg': b'this is not an image at all',
        'gif.jpg': image_bytes('GIF'),
    }
    paths = {name: write(tmp_path / name, data) for name, data in cases.items()}
    os.symlink(str(tmp_path / 'missing.jpg'), str(tmp_path / 'broken.jpg'))
    os.symlink(str(tmp_path / 'loop.jpg'), str(tmp_path / 'loop.jpg'))
    os.mkdir(tmp_path / 'folder.jpg')

    assert check_image_file(paths['zero.jpg']) == 'empty file, 0 bytes'
    assert check_image_file(paths['text.jpg']) == 'not an image: unrecognised content'
    assert check_image_file(paths['gif.jpg']) == 'GIF image: not one of the readable formats'
    assert check_image_file(str(tmp_path / 'broken.jpg')).startswith('broken symbolic link')
    assert check_image_file(str(tmp_path / 'loop.jpg')) == 'symbolic link loop'
    assert check_image_file(str(tmp_path / 'folder.jpg')) == 'not a regular file'


def check_as_user(path, uid):
    """:func:`check_image_file` run in a child process that has switched to ``uid``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            os.write(write_end, str(check_image_file(path)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        verdict = f.read()
    os.waitpid(pid, 0)
    return verdict


def test_unreadable_file_is_bad():
    folder = tempfile.mkdtemp()  # not under pytest's 0700 tmp folder: others may enter it
    try:
        os.chmod(folder, 0o755)
        path = write(osp.join(folder, 'secret.png'), image_bytes())
        os.chmod(path, 0)
        if os.geteuid() == 0:  # root reads anything: ask as an ordinary user (nobody)
            verdict = check_as_user(path, 65534)
        else:
            verdict = str(check_image_file(path))
        assert verdict == 'not readable: permission denied'
    finally:
        shutil.rmtree(folder)


def test_scan_report_counts_and_lists_first_paths(tmp_path):
    good = [write(tmp_path / f'g{i}.png', image_bytes(seed=i)) for i in range(3)]
    bad = [write(tmp_path / f'b{i}.png', b'\x89PNG broken') for i in range(7)]
    report = scan_image_files(good + bad, class_files=[('a', 3), ('b', 0), ('c', 7)])
    assert report.num_files == 10
    assert report.bad_paths == bad
    assert report.empty_classes == ['b']
    text = report.describe_bad_files(limit=2)
    assert text.startswith('7 of 10 files cannot be read as images: ')
    assert bad[0] in text and bad[1] in text and bad[2] not in text
    assert text.endswith('... and 5 more')


# --------------------------------------------------------------------------------------------
# FolderDataset: bad_file_policy
# --------------------------------------------------------------------------------------------


@pytest.fixture
def dirty_root(tmp_path):
    """A train split with 4 good images and 4 bad files of different kinds."""
    good = good_split(tmp_path)
    bad = [
        write(tmp_path / 'train' / 'a' / 'empty.png', b''),
        write(tmp_path / 'train' / 'a' / 'notes.jpg', b'shopping list'),
        write(tmp_path / 'train' / 'b' / 'cut.png', image_bytes()[:40]),
    ]
    os.symlink(str(tmp_path / 'gone.png'), str(tmp_path / 'train' / 'b' / 'link.png'))
    bad.append(str(tmp_path / 'train' / 'b' / 'link.png'))
    return tmp_path, good, bad


def test_error_policy_stops_naming_bad_files_and_the_switch(dirty_root):
    root, _, bad = dirty_root
    with pytest.raises(BadDataError) as info:
        FolderDataset(data_root=str(root), data_prefix='train')
    message = str(info.value)
    assert '4 of 8 files cannot be read as images' in message
    for path in bad:
        assert path in message
    assert "bad_file_policy='skip'" in message
    assert 'train_dataloader.dataset.bad_file_policy=skip' in message


def test_skip_policy_drops_bad_files_with_one_warning(dirty_root, warnings_log):
    root, good, bad = dirty_root
    dataset = FolderDataset(data_root=str(root), data_prefix='train', bad_file_policy='skip')
    assert paths_of(dataset) == sorted(good)
    assert dataset.get_gt_labels().tolist() == [0, 0, 1, 1]
    assert len(warnings_log) == 1
    assert '4 of 8 files cannot be read' in warnings_log[0]
    assert all(path in warnings_log[0] for path in bad)


def test_scan_can_be_turned_off(dirty_root):
    root, good, bad = dirty_root
    dataset = FolderDataset(data_root=str(root), data_prefix='train', scan_files=False)
    # Without the scan the bad files stay in (except the dangling link, which never is a file).
    assert len(dataset) == len(good) + len(bad)
    assert dataset.scan_report.num_files == 0


def test_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="bad_file_policy='ignore'"):
        FolderDataset(data_root=str(tmp_path), data_prefix='train', bad_file_policy='ignore')


def test_empty_class_in_train_is_an_error(tmp_path):
    good_split(tmp_path, classes=('a', 'c'))
    (tmp_path / 'train' / 'b').mkdir()
    with pytest.raises(BadDataError, match=r"1 of 3 classes have no images: \['b'\]"):
        FolderDataset(data_root=str(tmp_path), data_prefix='train')


def test_empty_class_under_skip_keeps_its_label_index(tmp_path, warnings_log):
    good_split(tmp_path, classes=('a', 'c'))
    (tmp_path / 'train' / 'b').mkdir()
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', bad_file_policy='skip')
    assert dataset.metainfo['classes'] == ('a', 'b', 'c')
    assert sorted(set(dataset.get_gt_labels().tolist())) == [0, 2]
    assert any("['b']" in message for message in warnings_log)


def test_class_missing_from_val_is_only_a_warning(tmp_path, warnings_log):
    good_split(tmp_path, classes=('a', 'b', 'c'))
    good_split(tmp_path, split='val', classes=('a', 'c'))
    val = FolderDataset(data_root=str(tmp_path), data_prefix='val', class_folder='train')
    assert len(val) == 4
    assert any("no images for classes ['b']" in message for message in warnings_log)


def test_symlink_loop_as_a_class_folder_is_reported(tmp_path):
    good_split(tmp_path)
    loop = tmp_path / 'train' / 'c'
    os.symlink(str(loop), str(loop))
    with pytest.raises(BadDataError, match='broken symbolic link or link loop'):
        FolderDataset(data_root=str(tmp_path), data_prefix='train')
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', bad_file_policy='skip')
    assert dataset.metainfo['classes'] == ('a', 'b')


# --------------------------------------------------------------------------------------------
# Files that go bad after the scan
# --------------------------------------------------------------------------------------------

LOAD = [dict(type='LoadImageFromFile')]


def test_file_deleted_or_corrupted_during_training_is_skipped_and_logged(tmp_path, warnings_log):
    good = good_split(tmp_path, per_class=3)
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', pipeline=LOAD)
    deleted, corrupted = good[1], good[4]
    os.remove(deleted)
    with open(corrupted, 'wb') as f:
        f.write(b'overwritten by a failing disk')

    loaded = [dataset[i]['img_path'] for i in range(len(dataset)) for _ in range(2)]

    assert len(loaded) == 2 * len(good)
    assert deleted not in loaded and corrupted not in loaded
    assert dataset.runtime_bad_files == {deleted, corrupted}
    # One warning per file, however often it was drawn.
    skipped = [m for m in warnings_log if m.startswith('skipping')]
    assert len(skipped) == 2
    assert deleted in skipped[0] and 'No such file' in skipped[0]
    assert corrupted in skipped[1] and 'not an image' in skipped[1]


def test_too_many_files_going_bad_stops_with_a_clear_error(tmp_path):
    good = good_split(tmp_path, per_class=3)
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, max_runtime_bad_files=2
    )
    for path in good[:3]:
        os.remove(path)
    with pytest.raises(BadDataError, match='3 files failed to load during training'):
        for i in range(len(dataset)):
            dataset[i]


def test_pipeline_errors_on_good_files_are_not_hidden(tmp_path):
    good_split(tmp_path)

    def buggy_transform(results):
        raise KeyError('a transform bug, not a bad file')

    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD + [buggy_transform]
    )
    with pytest.raises(KeyError, match='a transform bug'):
        dataset[0]
    assert dataset.runtime_bad_files == set()


def test_file_gone_bad_at_test_time_names_it(tmp_path):
    good = good_split(tmp_path)
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, test_mode=True
    )
    os.remove(good[0])
    with pytest.raises(BadDataError, match=f'{good[0]} can no longer be read'):
        dataset[0]


# --------------------------------------------------------------------------------------------
# tools/check_dataset.py
# --------------------------------------------------------------------------------------------


def test_check_dataset_tool_lists_bad_files_and_empty_classes(dirty_root, capsys):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    try:
        import check_dataset
    finally:
        sys.path.pop(0)
    root, _, bad = dirty_root
    good_split(root, split='val')
    (root / 'val' / 'c').mkdir()

    assert check_dataset.main([str(root), '--show', '3']) == 1

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f'{root / "train"}: 8 files checked in ')
    assert out[0].endswith('4 bad, 0 empty classes')
    assert [line.split(': ')[0].strip() for line in out[1:4]] == ['bad'] * 3
    assert {line.split(': ')[1] for line in out[1:4]} <= set(bad)
    assert out[4] == '  ... and 1 more'
    assert out[5].startswith(f'{root / "val"}: 4 files checked in ')
    assert out[5].endswith('0 bad, 1 empty classes')
    assert out[6] == "  classes without images: ['c']"
    good_only = root / 'clean'
    good_split(good_only)
    assert check_dataset.main([str(good_only)]) == 0
