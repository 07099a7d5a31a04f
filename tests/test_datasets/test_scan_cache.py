"""The scan cache (JSON, keyed by path, size, mtime, ctime, inode) and the scan process pool."""

import io
import json
import os
import os.path as osp
import time

import pytest
from mmtl_testing.bad_images import corrupt_jpeg_inside, jpeg_bytes

import mmtl.datasets.scan as scan_module
from mmtl.datasets import FolderDataset
from mmtl.datasets.scan import scan_image_files
from mmtl.datasets.scan_cache import ScanCache
from mmtl.utils.errors import BadDataError
from mmtl.utils.fileio import CACHE_DIR_ENV

HOUR_AGO = time.time() - 3600


def write_old(path, data, when=HOUR_AGO):
    """Write a file and date it an hour back (as a dataset copied earlier)."""
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    os.utime(path, (when, when))
    return str(path)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / 'cache'))
    files = [
        write_old(tmp_path / 'train' / c / f'{i}.jpg', jpeg_bytes(seed=i))
        for c in ('a', 'b')
        for i in range(3)
    ]
    return tmp_path, files


@pytest.fixture
def checks(monkeypatch):
    """Paths given to the per-file check, in order."""
    seen = []
    original = scan_module.check_image_file

    def counting(path, decode=False):
        seen.append(path)
        return original(path, decode=decode)

    monkeypatch.setattr(scan_module, 'check_image_file', counting)
    return seen


def build(root, **kwargs):
    return FolderDataset(data_root=str(root), data_prefix='train', pipeline=[], **kwargs)


def test_rescan_of_an_unchanged_folder_checks_nothing(folder, checks):
    root, files = folder
    first = build(root)
    assert sorted(checks) == sorted(files) and first.scan_report.cached == 0
    checks.clear()
    second = build(root)
    assert checks == [] and second.scan_report.cached == len(files)
    assert len(second) == len(files)


def test_a_rewrite_keeping_size_and_mtime_is_still_checked_again(folder, checks):
    root, files = folder
    build(root)
    good = jpeg_bytes(seed=0)
    bad = corrupt_jpeg_inside(good)
    assert len(bad) == len(good)
    write_old(files[0], bad)  # same size, same (old) mtime: only ctime tells
    checks.clear()
    build(root)  # header mode: corrupt inside still passes, but it was checked again
    assert checks == [files[0]]
    with pytest.raises(BadDataError, match='0.jpg'):  # decode mode has its own cache
        build(root, scan_files='decode')


def test_permission_change_and_replacement_are_checked_again(folder, checks):
    root, files = folder
    build(root)
    os.chmod(files[1], 0o600)  # ctime changes
    tmp = files[2] + '.new'
    write_old(tmp, jpeg_bytes(seed=2))
    os.replace(tmp, files[2])  # same content, size and mtime, another inode
    checks.clear()
    build(root)
    assert sorted(checks) == sorted(files[1:3])


def test_recently_modified_files_are_not_cached(folder, checks):
    root, files = folder
    write_old(files[0], jpeg_bytes(seed=0), when=time.time())  # modified just now
    build(root)
    checks.clear()
    build(root)
    assert checks == [files[0]]


def test_cache_is_json_and_a_damaged_one_is_ignored(folder, checks):
    root, files = folder
    build(root)
    cache = ScanCache(osp.join(str(root), 'train'), 'header')
    with open(cache.path, encoding='utf-8') as f:
        data = json.load(f)  # plain JSON, no pickle
    folders = data['folders']
    listed = [osp.join(folder, name) for folder in folders for name in folders[folder]['names']]
    assert sorted(listed) == sorted(files)
    with open(cache.path, 'wb') as f:
        f.write(b'\x80\x04garbage')
    checks.clear()
    assert len(build(root)) == len(files)
    assert sorted(checks) == sorted(files)


def test_pixel_limit_and_mode_key_the_cache(folder, checks, monkeypatch):
    root, files = folder
    build(root)
    monkeypatch.setenv('MMTL_MAX_IMAGE_PIXELS', '10')  # every 96x64 photo is now too large
    checks.clear()
    with pytest.raises(BadDataError, match='too large'):
        build(root)
    assert sorted(checks) == sorted(files)


def test_process_pool_gives_the_same_verdicts_in_order(tmp_path):
    paths = []
    for i in range(40):
        data = corrupt_jpeg_inside(jpeg_bytes(seed=i)) if i % 7 == 0 else jpeg_bytes(seed=i)
        paths.append(write_old(tmp_path / f'{i:02d}.jpg', data if i % 5 else b''))
    alone = scan_image_files(paths, decode=True, workers=1)
    pooled = scan_image_files(paths, decode=True, workers=2)
    assert pooled.workers == 2 and alone.bad_files == pooled.bad_files
    assert len(alone.bad_files) > 8


def jpeg_variants():
    from mmtl_testing.bad_images import photo
    from PIL import Image

    rgb = Image.fromarray(photo((64, 48), 3))
    variants = {}
    for name, img, kwargs in (
        ('plain', rgb, {}),
        ('grey', rgb.convert('L'), {}),
        ('cmyk', rgb.convert('CMYK'), {}),
        ('progressive', rgb, {'progressive': True}),
        ('exif', rgb, {'exif': b'Exif\x00\x00' + b'MM\x00*\x00\x00\x00\x08' + b'\x00' * 6}),
    ):
        buffer = io.BytesIO()
        img.save(buffer, 'JPEG', quality=90, **kwargs)
        variants[name] = buffer.getvalue()
    good = variants['plain']
    # A comment segment longer than the fast check's first read (16 KB): read further.
    comment = b'\xff\xfe' + (60002).to_bytes(2, 'big') + b'c' * 60000
    variants['long_segment'] = good[:2] + comment + good[2:]
    # Larger than the fast check's first read: the end marker comes from a positioned read.
    large = io.BytesIO()
    Image.fromarray(photo((400, 300), 3)).save(large, 'JPEG', quality=95)
    variants['large'] = large.getvalue()
    variants['large_junk_after'] = large.getvalue() + b'junk' * 20
    variants['cut'] = good[: len(good) * 3 // 4]
    variants['junk_after'] = good + b'junk' * 20
    variants['soi_then_junk'] = b'\xff\xd8' + b'\x13' * 200 + b'\xff\xd9'
    variants['no_frame'] = b'\xff\xd8\xff\xe0\x00\x04ab\xff\xd9'
    return variants


def test_fast_jpeg_check_never_gives_another_verdict_than_pillow(tmp_path, monkeypatch):
    paths = {
        name: write_old(tmp_path / f'{name}.jpg', data) for name, data in jpeg_variants().items()
    }
    fast = {name: scan_module.check_image_file(path) for name, path in paths.items()}
    taken = {name: scan_module._plain_jpeg_is_complete(path) for name, path in paths.items()}
    assert taken['plain'] and taken['grey'] and taken['progressive'] and taken['cmyk']
    assert taken['long_segment'] and taken['large'] and osp.getsize(paths['large']) > 16384
    assert not taken['large_junk_after']
    assert not any(taken[name] for name in ('cut', 'junk_after', 'soi_then_junk', 'no_frame'))
    monkeypatch.setattr(scan_module, '_plain_jpeg_is_complete', lambda path: False)
    slow = {name: scan_module.check_image_file(path) for name, path in paths.items()}
    assert fast == slow
    assert slow['plain'] is None and slow['cut'] is not None and slow['soi_then_junk'] is not None


def test_added_and_removed_files_leave_the_others_cached(folder, checks):
    root, files = folder
    build(root)
    added = write_old(root / 'train' / 'a' / 'new.jpg', jpeg_bytes(seed=9))
    os.remove(files[4])  # b/1.jpg
    checks.clear()
    dataset = build(root)
    assert checks == [added]
    assert dataset.scan_report.cached == len(files) - 1
    checks.clear()
    assert build(root).scan_report.cached == len(files) and checks == []


def test_a_bad_files_verdict_is_remembered_with_its_reason(folder, checks):
    root, files = folder
    write_old(files[3], b'not an image at all')
    first = build(root, bad_file_policy='skip')
    checks.clear()
    second = build(root, bad_file_policy='skip')
    assert checks == [] and second.scan_report.cached == len(files)
    assert second.scan_report.bad_files == first.scan_report.bad_files
    assert [path for path, _ in second.scan_report.bad_files] == [files[3]]
    assert len(second) == len(files) - 1


def test_a_damaged_folder_entry_is_checked_again(folder, checks):
    root, files = folder
    build(root)
    cache = ScanCache(osp.join(str(root), 'train'), 'header')
    with open(cache.path, encoding='utf-8') as f:
        data = json.load(f)
    folder_a = osp.join(str(root), 'train', 'a')
    data['folders'][folder_a]['signatures'] = data['folders'][folder_a]['signatures'][:-8]
    with open(cache.path, 'w', encoding='utf-8') as f:
        json.dump(data, f)
    checks.clear()
    build(root)
    assert sorted(checks) == sorted(files[:3])  # folder a only
