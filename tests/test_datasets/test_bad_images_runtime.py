"""Files the header scan passes but the decoder rejects; evaluation splits; folders; limits."""

import logging
import os
import os.path as osp
import shutil
import tempfile

import pytest
from mmengine.logging import MMLogger
from mmtl_testing.bad_images import (
    corrupt_jpeg_inside,
    corrupt_png_inside,
    jpeg_bytes,
    png_bytes,
    png_header_only,
)

from mmtl.datasets import FolderDataset
from mmtl.datasets.listing import list_image_files
from mmtl.datasets.scan import check_image_file, decode_problem
from mmtl.datasets.transforms import LoadImage
from mmtl.datasets.transforms.image_io import MAX_PIXELS_ENV, ImageTooLargeError
from mmtl.utils.errors import BadDataError

LOAD = [LoadImage()]


def write(path, data):
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def split_with(root, split, bad_name, bad_data, classes=('a', 'b'), per_class=3):
    """``root/split/<class>/<i>.jpg`` good photos plus one bad file in class ``a``."""
    good = [
        write(root / split / name / f'{i}.jpg', jpeg_bytes(seed=i + 10 * k))
        for k, name in enumerate(classes)
        for i in range(per_class)
    ]
    return good, write(root / split / 'a' / bad_name, bad_data)


CORRUPT_INSIDE = {
    'inside.jpg': corrupt_jpeg_inside(jpeg_bytes(seed=0), seed=0),
    'inside.png': corrupt_png_inside(png_bytes(seed=0), seed=0),
}


@pytest.mark.parametrize('name', sorted(CORRUPT_INSIDE))
def test_corrupt_inside_passes_the_header_check_and_fails_the_decode_check(tmp_path, name):
    path = write(tmp_path / name, CORRUPT_INSIDE[name])
    assert check_image_file(path) is None  # structure intact: end marker / CRCs
    assert decode_problem(path).startswith('corrupt image data')
    assert check_image_file(path, decode=True).startswith('corrupt image data')
    with pytest.raises(Exception, match=name):
        LoadImage()(dict(img_path=path))


@pytest.mark.parametrize('name', sorted(CORRUPT_INSIDE))
def test_training_skip_policy_skips_a_file_corrupt_inside_and_logs_it_once(
    tmp_path, name, warnings_log
):
    good, bad = split_with(tmp_path, 'train', name, CORRUPT_INSIDE[name])
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, bad_file_policy='skip'
    )
    assert len(dataset) == len(good) + 1  # the header scan kept it
    loaded = [dataset[i]['img_path'] for i in range(len(dataset)) for _ in range(3)]
    assert bad not in loaded and len(loaded) == 3 * len(dataset)
    skipped = [m for m in warnings_log if m.startswith('skipping')]
    assert len(skipped) == 1 and bad in skipped[0]
    assert 'train_dataloader.dataset.bad_file_policy' in skipped[0]


@pytest.mark.parametrize('name', sorted(CORRUPT_INSIDE))
def test_training_error_policy_stops_naming_the_file_and_the_key(tmp_path, name):
    _, bad = split_with(tmp_path, 'train', name, CORRUPT_INSIDE[name])
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', pipeline=LOAD)
    index = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))].index(bad)
    with pytest.raises(BadDataError) as info:
        dataset[index]
    message = str(info.value)
    assert '\n' not in message
    assert bad in message and 'train_dataloader.dataset.bad_file_policy=skip' in message


def test_bad_file_is_logged_once_over_all_dataloader_workers(tmp_path):
    import torch
    from mmengine.dataset import pseudo_collate

    _, bad = split_with(tmp_path, 'train', 'inside.jpg', CORRUPT_INSIDE['inside.jpg'], per_class=4)
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, bad_file_policy='skip'
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=3,
        num_workers=2,
        shuffle=True,
        collate_fn=pseudo_collate,
        persistent_workers=True,
        multiprocessing_context='fork',
    )
    log_file = str(tmp_path / 'warnings.log')
    handler = logging.FileHandler(log_file)  # inherited by the forked workers
    handler.setLevel(logging.WARNING)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    seen = []
    try:
        for _ in range(3):  # each epoch the bad index may land in another worker
            for batch in loader:
                seen.extend(batch['img_path'])
    finally:
        del loader  # stop the persistent workers
        logger.removeHandler(handler)
        handler.close()
    assert bad not in seen and len(seen) == 3 * len(dataset)
    with open(log_file) as f:
        lines = [line for line in f if 'skipping' in line]
    assert len(lines) == 1 and bad in lines[0], lines
    assert dataset.runtime_record.paths() == [bad]


def test_evaluation_split_decodes_in_the_scan_and_names_the_val_key(tmp_path):
    split_with(tmp_path, 'train', 'ok.jpg', jpeg_bytes(seed=99))
    _, bad = split_with(tmp_path, 'val', 'inside.jpg', CORRUPT_INSIDE['inside.jpg'])
    with pytest.raises(BadDataError) as info:
        FolderDataset(
            data_root=str(tmp_path), data_prefix='val', class_folder='train', pipeline=LOAD
        )
    message = str(info.value)
    assert bad in message and 'corrupt image data' in message
    assert 'val_dataloader.dataset.bad_file_policy=skip' in message
    assert 'train_dataloader' not in message


def test_evaluation_split_under_skip_leaves_the_file_out_before_evaluation(tmp_path):
    split_with(tmp_path, 'train', 'ok.jpg', jpeg_bytes(seed=99))
    good, bad = split_with(tmp_path, 'test', 'inside.png', CORRUPT_INSIDE['inside.png'])
    dataset = FolderDataset(
        data_root=str(tmp_path),
        data_prefix='test',
        class_folder='train',
        pipeline=LOAD,
        bad_file_policy='skip',
    )
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    assert sorted(paths) == sorted(good)
    assert dataset.scan_report.bad_paths == [bad]


def test_val_split_never_replaces_a_file_that_went_bad(tmp_path):
    split_with(tmp_path, 'train', 'ok.jpg', jpeg_bytes(seed=99))
    good, _ = split_with(tmp_path, 'val', 'ok.jpg', jpeg_bytes(seed=98))
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='val', class_folder='train', pipeline=LOAD
    )
    assert not dataset.test_mode  # as the base configs build val datasets
    os.remove(good[0])
    index = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))].index(good[0])
    with pytest.raises(BadDataError, match='evaluation counts every image') as info:
        dataset[index]
    assert good[0] in str(info.value) and 'val_dataloader.dataset' in str(info.value)


def test_a_train_split_scans_headers_only_by_default(tmp_path):
    split_with(tmp_path, 'train', 'ok.jpg', jpeg_bytes(seed=99))
    train = FolderDataset(data_root=str(tmp_path), data_prefix='train', pipeline=LOAD)
    val = FolderDataset(data_root=str(tmp_path), data_prefix='train', split_role='eval')
    assert (train.effective_scan_mode, val.effective_scan_mode) == ('header', 'decode')
    with pytest.raises(Exception, match="scan_files='fast'"):
        FolderDataset(data_root=str(tmp_path), data_prefix='train', scan_files='fast')


# ------------------------------------------------------------------------- folders, classes


def test_unreadable_sub_folder_is_reported_not_skipped(tmp_path, monkeypatch):
    split_with(tmp_path, 'train', 'ok.jpg', jpeg_bytes(seed=99))
    hidden = str(tmp_path / 'train' / 'b' / 'more')
    write(osp.join(hidden, 'x.jpg'), jpeg_bytes(seed=5))
    real_scandir = os.scandir

    def scandir(path='.'):  # as chmod 000 does for a normal user (root reads anyway)
        if osp.normpath(str(path)) == osp.normpath(hidden):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, 'scandir', scandir)
    with pytest.raises(BadDataError) as info:
        FolderDataset(data_root=str(tmp_path), data_prefix='train', pipeline=LOAD)
    assert hidden in str(info.value) and 'unreadable folder: Permission denied' in str(info.value)
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, bad_file_policy='skip'
    )
    assert dataset.scan_report.bad_files[-1][0] == hidden


def test_chmod_000_sub_folder_is_reported_as_an_ordinary_user():
    folder = tempfile.mkdtemp()  # not under pytest's 0700 tmp folder: nobody may enter it
    try:
        os.chmod(folder, 0o755)
        locked = osp.join(folder, 'locked')
        write(osp.join(locked, 'x.jpg'), jpeg_bytes())
        os.chmod(locked, 0)
        if os.geteuid() != 0:
            found = []
            list_image_files(folder, ('.jpg',), found)
            assert found == [(locked, 'unreadable folder: Permission denied')]
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # root reads anything: list as an ordinary user (nobody)
            try:
                os.close(read_end)
                os.setgid(65534)
                os.setuid(65534)
                found = []
                list_image_files(folder, ('.jpg',), found)
                os.write(write_end, repr(found).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as f:
            verdict = f.read()
        os.waitpid(pid, 0)
        assert verdict == repr([(locked, 'unreadable folder: Permission denied')])
    finally:
        os.chmod(osp.join(folder, 'locked'), 0o755)
        shutil.rmtree(folder)


def test_classes_file_missing_under_data_root_does_not_fall_back_to_cwd(tmp_path, monkeypatch):
    split_with(tmp_path / 'data', 'train', 'ok.jpg', jpeg_bytes(seed=99))
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    (cwd / 'classes.txt').write_text('b\na\n')  # a stray file with another label order
    monkeypatch.chdir(cwd)
    with pytest.raises(FileNotFoundError, match='never from the current directory'):
        FolderDataset(data_root=str(tmp_path / 'data'), data_prefix='train', classes='classes.txt')


# ------------------------------------------------------------------------- pixel limit


def test_bomb_header_is_refused_by_scan_and_loader_without_decoding(tmp_path):
    path = write(tmp_path / 'bomb.png', png_header_only(30000, 30000))
    assert check_image_file(path).startswith('too large: 30000 x 30000')
    with pytest.raises(ImageTooLargeError, match=f'bomb.png is 30000 x 30000.*{MAX_PIXELS_ENV}'):
        LoadImage()(dict(img_path=path))


def test_pixel_limit_is_one_setting_for_scan_and_loaders(tmp_path, monkeypatch):
    small = write(tmp_path / 'train' / 'a' / 'small.jpg', jpeg_bytes(size=(30, 30)))
    large = write(tmp_path / 'train' / 'a' / 'large.png', png_bytes(size=(40, 40)))
    monkeypatch.setenv(MAX_PIXELS_ENV, '1000')
    assert check_image_file(small) is None
    assert check_image_file(large).startswith('too large: 40 x 40')
    with pytest.raises(ImageTooLargeError):
        LoadImage()(dict(img_path=large))
    assert LoadImage()(dict(img_path=small))['img'].shape == (30, 30, 3)
    dataset = FolderDataset(
        data_root=str(tmp_path), data_prefix='train', pipeline=LOAD, bad_file_policy='skip'
    )
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == [small]
    monkeypatch.setenv(MAX_PIXELS_ENV, '0')  # no limit
    assert check_image_file(large) is None
    monkeypatch.setenv(MAX_PIXELS_ENV, 'lots')
    with pytest.raises(ValueError, match=f'{MAX_PIXELS_ENV}=.lots.'):
        LoadImage()(dict(img_path=small))


def test_corrupt_png_no_longer_loads_as_a_partial_image(tmp_path):
    # Pillow decodes a PNG to read its EXIF; that failure used to be swallowed, and the
    # image then "loaded" with the undecoded rows left black.
    path = write(tmp_path / 'x.png', CORRUPT_INSIDE['inside.png'])
    with pytest.raises(Exception, match='x.png'):
        LoadImage()(dict(img_path=path))


def test_error_raised_in_a_dataloader_worker_stays_one_line(tmp_path):
    import torch
    from mmengine.dataset import pseudo_collate

    _, bad = split_with(tmp_path, 'train', 'inside.jpg', CORRUPT_INSIDE['inside.jpg'])
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', pipeline=LOAD)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=len(dataset), num_workers=1, collate_fn=pseudo_collate
    )
    with pytest.raises(BadDataError) as info:
        next(iter(loader))
    message = str(info.value)
    assert '\n' not in message and 'Traceback' not in message
    assert message.startswith(f'{bad} cannot be decoded')
    assert 'train_dataloader.dataset.bad_file_policy=skip' in message
