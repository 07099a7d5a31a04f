"""Tests of FolderDataset (class discovery, label indices) and of the stratified splits."""

import os
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.datasets import IMG_EXTENSIONS, FolderDataset, split_image_folder, stratified_split
from mmtl.datasets.listing import list_class_folders, list_image_files
from mmtl.registry import DATASETS
from mmtl.utils.errors import BadDataError


def make_image(path, value=0):
    """Write a small 8x8 image at ``path`` (parents created)."""
    path = str(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    image = np.full((8, 8, 3), value, dtype=np.uint8)
    assert cv2.imwrite(path, image), f'could not write {path}'
    return path


def make_file(path, text='not an image'):
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def labels_by_file(dataset, root):
    """``{path relative to root: gt_label}`` of every sample of ``dataset``."""
    out = {}
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        out[osp.relpath(info['img_path'], str(root))] = int(info['gt_label'])
    return out


# --------------------------------------------------------------------------------------------
# FolderDataset
# --------------------------------------------------------------------------------------------


def test_classes_are_sorted_subfolder_names(tmp_path):
    for name in ('zebra', 'apple', 'mango'):
        make_image(tmp_path / 'train' / name / f'{name}_1.png')
    make_image(tmp_path / 'train' / 'mango' / 'mango_2.png')

    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train')

    assert dataset.metainfo['classes'] == ('apple', 'mango', 'zebra')
    assert labels_by_file(dataset, tmp_path) == {
        osp.join('train', 'apple', 'apple_1.png'): 0,
        osp.join('train', 'mango', 'mango_1.png'): 1,
        osp.join('train', 'mango', 'mango_2.png'): 1,
        osp.join('train', 'zebra', 'zebra_1.png'): 2,
    }
    assert sorted(dataset.get_gt_labels().tolist()) == [0, 1, 1, 2]


def test_built_from_registry(tmp_path):
    make_image(tmp_path / 'train' / 'b' / '1.png')
    make_image(tmp_path / 'train' / 'a' / '1.png')
    dataset = DATASETS.build(
        dict(type='FolderDataset', data_root=str(tmp_path), data_prefix='train')
    )
    assert isinstance(dataset, FolderDataset)
    assert dataset.metainfo['classes'] == ('a', 'b')


def test_hidden_folders_and_files_are_ignored(tmp_path):
    train = tmp_path / 'train'
    make_image(train / 'cat' / 'a.jpg')
    make_image(train / 'dog' / 'b.png')
    # Jupyter and macOS leave these behind; none of them is data.
    make_image(train / '.ipynb_checkpoints' / 'stray.jpg')
    make_image(train / 'cat' / '.ipynb_checkpoints' / 'a-checkpoint.jpg')
    make_image(train / 'cat' / '.hidden.jpg')
    make_file(train / '.DS_Store')
    make_file(train / 'cat' / '.DS_Store')
    # A val split with its own checkpoints folder must not see it as an unknown class.
    make_image(tmp_path / 'val' / 'dog' / 'c.png')
    make_image(tmp_path / 'val' / '.ipynb_checkpoints' / 'c-checkpoint.png')

    train_set = FolderDataset(data_root=str(tmp_path), data_prefix='train')
    val_set = FolderDataset(data_root=str(tmp_path), data_prefix='val', class_folder='train')

    assert train_set.metainfo['classes'] == ('cat', 'dog')
    assert labels_by_file(train_set, tmp_path) == {
        osp.join('train', 'cat', 'a.jpg'): 0,
        osp.join('train', 'dog', 'b.png'): 1,
    }
    assert labels_by_file(val_set, tmp_path) == {osp.join('val', 'dog', 'c.png'): 1}


def test_list_class_folders_skips_files_and_hidden_folders(tmp_path):
    for name in ('b', 'a', '.ipynb_checkpoints', 'c'):
        (tmp_path / name).mkdir()
    make_file(tmp_path / 'readme.txt')
    make_file(tmp_path / '.hidden')
    assert list_class_folders(str(tmp_path)) == ['a', 'b', 'c']


def test_image_extensions_any_case_and_non_images_ignored(tmp_path):
    folder = tmp_path / 'train' / 'cat'
    expected = {
        make_image(folder / 'a.webp'),
        make_image(folder / 'b.JPG'),
        make_image(folder / 'c.Png'),
        make_image(folder / 'd.jpeg'),
        make_image(folder / 'nested' / 'e.bmp'),  # class folders are walked recursively
    }
    make_file(folder / 'notes.txt')
    make_file(folder / 'labels.csv')
    make_file(folder / 'f.jpg.bak')
    make_file(folder / 'noext')

    assert set(list_image_files(str(folder), IMG_EXTENSIONS)) == expected
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train')
    assert {dataset.get_data_info(i)['img_path'] for i in range(len(dataset))} == expected


def test_custom_extensions_are_case_insensitive(tmp_path):
    folder = tmp_path / 'train' / 'cat'
    png = make_image(folder / 'a.png')
    make_image(folder / 'b.jpg')
    dataset = FolderDataset(data_root=str(tmp_path), data_prefix='train', extensions=('.PNG',))
    assert [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))] == [png]


def test_val_split_missing_a_class_keeps_train_label_indices(tmp_path):
    for name in ('a', 'b', 'c'):
        make_image(tmp_path / 'train' / name / '1.png')
    make_image(tmp_path / 'val' / 'a' / '1.png')
    make_image(tmp_path / 'val' / 'c' / 'only_c.png')  # no val/b

    val_set = FolderDataset(data_root=str(tmp_path), data_prefix='val', class_folder='train')

    assert val_set.metainfo['classes'] == ('a', 'b', 'c')
    labels = labels_by_file(val_set, tmp_path)
    assert labels[osp.join('val', 'c', 'only_c.png')] == 2
    assert labels[osp.join('val', 'a', '1.png')] == 0

    # Without class_folder the val split defines its own classes and 'c' shifts to 1: this is
    # what class_folder='train' is there to prevent.
    plain = FolderDataset(data_root=str(tmp_path), data_prefix='val')
    assert plain.metainfo['classes'] == ('a', 'c')
    assert labels_by_file(plain, tmp_path)[osp.join('val', 'c', 'only_c.png')] == 1


def test_unknown_subfolder_in_val_raises_naming_it(tmp_path):
    for name in ('a', 'b'):
        make_image(tmp_path / 'train' / name / '1.png')
    make_image(tmp_path / 'val' / 'a' / '1.png')
    make_image(tmp_path / 'val' / 'misspelt_b' / '1.png')

    with pytest.raises(ValueError, match='misspelt_b'):
        FolderDataset(data_root=str(tmp_path), data_prefix='val', class_folder='train')


def test_classes_file_relative_to_data_root_sets_label_order(tmp_path, monkeypatch):
    root = tmp_path / 'dataset'
    for name in ('apple', 'fig', 'pear'):
        make_image(root / 'train' / name / f'{name}.png')
    # Deliberately not alphabetical.
    (root / 'classes.txt').write_text('pear\napple\nfig\n')
    elsewhere = tmp_path / 'cwd'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # so that 'classes.txt' is only found under data_root

    dataset = FolderDataset(data_root=str(root), data_prefix='train', classes='classes.txt')

    assert dataset.metainfo['classes'] == ('pear', 'apple', 'fig')
    assert labels_by_file(dataset, root) == {
        osp.join('train', 'pear', 'pear.png'): 0,
        osp.join('train', 'apple', 'apple.png'): 1,
        osp.join('train', 'fig', 'fig.png'): 2,
    }


def test_classes_list_sets_label_order_for_val_too(tmp_path):
    for name in ('x', 'y'):
        make_image(tmp_path / 'train' / name / '1.png')
        make_image(tmp_path / 'val' / name / '1.png')
    classes = ['y', 'x']
    val_set = FolderDataset(
        data_root=str(tmp_path), data_prefix='val', class_folder='train', classes=classes
    )
    assert val_set.metainfo['classes'] == ('y', 'x')
    assert labels_by_file(val_set, tmp_path) == {
        osp.join('val', 'y', '1.png'): 0,
        osp.join('val', 'x', '1.png'): 1,
    }


def test_missing_classes_file_raises(tmp_path, monkeypatch):
    make_image(tmp_path / 'train' / 'a' / '1.png')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='no_such_classes.txt'):
        FolderDataset(data_root=str(tmp_path), data_prefix='train', classes='no_such_classes.txt')


def test_class_folders_without_images_raise(tmp_path):
    make_file(tmp_path / 'train' / 'a' / 'notes.txt')
    (tmp_path / 'train' / 'b').mkdir()
    with pytest.raises(BadDataError, match='no images'):
        FolderDataset(data_root=str(tmp_path), data_prefix='train')


def test_missing_split_folder_raises_naming_the_path(tmp_path):
    make_image(tmp_path / 'train' / 'a' / '1.png')
    with pytest.raises(FileNotFoundError) as info:
        FolderDataset(data_root=str(tmp_path), data_prefix='test', class_folder='train')
    assert osp.join(str(tmp_path), 'test') in str(info.value)


# --------------------------------------------------------------------------------------------
# stratified_split
# --------------------------------------------------------------------------------------------


def interleaved_labels(class_sizes):
    """Labels of ``class_sizes[c]`` samples per class, interleaved rather than grouped."""
    remaining = list(class_sizes)
    labels = []
    while any(remaining):
        for label, left in enumerate(remaining):
            if left:
                labels.append(label)
                remaining[label] -= 1
    return labels


CLASS_SIZES = [10, 17, 23, 40, 101, 7, 3, 4, 5, 1, 2]


@pytest.mark.parametrize(
    'ratios', [(0.7, 0.15, 0.15), (0.8, 0.2), (0.6, 0.2, 0.2), (0.5, 0.3, 0.2)]
)
def test_stratified_split_is_a_partition(ratios):
    labels = interleaved_labels(CLASS_SIZES)
    parts = stratified_split(labels, ratios, seed=3)

    assert len(parts) == len(ratios)
    seen = [i for part in parts for i in part]
    assert len(seen) == len(set(seen)), 'parts overlap'
    assert sorted(seen) == list(range(len(labels)))
    assert all(part == sorted(part) for part in parts)


@pytest.mark.parametrize(
    'ratios', [(0.7, 0.15, 0.15), (0.8, 0.2), (0.6, 0.2, 0.2), (0.5, 0.3, 0.2)]
)
def test_stratified_split_keeps_each_class_share(ratios):
    # Every size from 1 to 60, plus a large class.
    sizes = list(range(1, 61)) + [257]
    labels = np.asarray(interleaved_labels(sizes))
    parts = stratified_split(labels.tolist(), ratios, seed=0)

    for label, size in enumerate(sizes):
        counts = [int(np.count_nonzero(labels[part] == label)) for part in parts]
        assert sum(counts) == size
        if size * min(ratios) >= 1:
            # No part needs a forced minimum: plain rounding, within one sample of the ratio.
            for count, ratio in zip(counts, ratios):
                assert abs(count - ratio * size) <= 1, (size, counts, ratios)
        if size >= len(ratios):
            assert min(counts) >= 1, (size, counts)


def test_stratified_split_small_classes_reach_every_part():
    labels = interleaved_labels([3, 3, 4, 5, 6])
    parts = stratified_split(labels, (0.7, 0.15, 0.15), seed=0)
    for part in parts:
        assert {labels[i] for i in part} == {0, 1, 2, 3, 4}


def test_stratified_split_seeded():
    labels = interleaved_labels([20, 30, 25])
    ratios = (0.7, 0.15, 0.15)
    assert stratified_split(labels, ratios, seed=5) == stratified_split(labels, ratios, seed=5)
    assert stratified_split(labels, ratios, seed=5) != stratified_split(labels, ratios, seed=6)


def test_stratified_split_normalises_ratios():
    labels = interleaved_labels([20, 13, 9])
    assert stratified_split(labels, (7, 1.5, 1.5), seed=1) == stratified_split(
        labels, (0.7, 0.15, 0.15), seed=1
    )


def test_stratified_split_zero_ratio_part_stays_empty():
    labels = interleaved_labels([1, 2, 3, 10])
    train, val, test = stratified_split(labels, (0.8, 0.2, 0.0), seed=0)
    assert test == []
    assert len(train) + len(val) == len(labels)


@pytest.mark.parametrize('ratios', [(0.5, -0.1), (), (0.0, 0.0)])
def test_stratified_split_rejects_bad_ratios(ratios):
    with pytest.raises(ValueError):
        stratified_split([0, 1, 0, 1], ratios)


# --------------------------------------------------------------------------------------------
# split_image_folder
# --------------------------------------------------------------------------------------------


@pytest.fixture
def source_folder(tmp_path):
    """``src/<class>/*.png``: 10 cats, 7 dogs, 4 owls, plus hidden and non-image files."""
    src = tmp_path / 'src'
    sizes = {'cat': 10, 'dog': 7, 'owl': 4}
    for name, size in sizes.items():
        for i in range(size):
            make_image(src / name / f'{name}_{i:02d}.png', value=i)
    make_image(src / 'cat' / '.hidden.png')
    make_image(src / '.ipynb_checkpoints' / 'x.png')
    make_file(src / 'dog' / 'notes.txt')
    return src, sizes


def files_on_disk(folder):
    return sorted(
        osp.relpath(osp.join(root, name), str(folder))
        for root, _, names in os.walk(str(folder))
        for name in names
    )


@pytest.mark.parametrize('mode', ['copy', 'symlink'])
def test_split_image_folder_counts_match_disk(tmp_path, source_folder, mode):
    src, sizes = source_folder
    dst = tmp_path / 'out'

    counts = split_image_folder(str(src), str(dst), ratios=(0.7, 0.15, 0.15), seed=0, mode=mode)

    assert set(counts) == {'train', 'val', 'test'}
    on_disk = Counter(tuple(path.split(os.sep)[:2]) for path in files_on_disk(dst))
    for split, per_class in counts.items():
        assert set(per_class) == set(sizes)
        for name, count in per_class.items():
            assert on_disk[(split, name)] == count, (split, name)
            assert count >= 1  # every class has >= 3 images
    for name, size in sizes.items():
        assert sum(counts[split][name] for split in counts) == size
    # Each source image lands in exactly one split, under its own name.
    names = sorted(osp.basename(p) for p in files_on_disk(dst))
    assert names == sorted(f'{n}_{i:02d}.png' for n, s in sizes.items() for i in range(s))


def test_split_image_folder_copy_mode_writes_real_files(tmp_path, source_folder):
    src, _ = source_folder
    dst = tmp_path / 'out'
    split_image_folder(str(src), str(dst), mode='copy')
    for rel in files_on_disk(dst):
        path = osp.join(str(dst), rel)
        split, name, filename = rel.split(os.sep)
        assert not osp.islink(path)
        with open(path, 'rb') as f, open(osp.join(str(src), name, filename), 'rb') as g:
            assert f.read() == g.read()


def test_split_image_folder_symlink_mode_links_to_sources(tmp_path, source_folder):
    src, _ = source_folder
    dst = tmp_path / 'out'
    split_image_folder(str(src), str(dst), mode='symlink')
    rels = files_on_disk(dst)
    assert rels
    for rel in rels:
        path = osp.join(str(dst), rel)
        _, name, filename = rel.split(os.sep)
        assert osp.islink(path)
        assert osp.isabs(os.readlink(path))
        assert osp.realpath(path) == osp.realpath(osp.join(str(src), name, filename))


def test_split_image_folder_hardlink_mode_shares_inodes(tmp_path, source_folder):
    src, _ = source_folder
    dst = tmp_path / 'out'
    split_image_folder(str(src), str(dst), mode='hardlink')
    rels = files_on_disk(dst)
    assert rels
    for rel in rels:
        path = osp.join(str(dst), rel)
        _, name, filename = rel.split(os.sep)
        assert not osp.islink(path)
        assert osp.samefile(path, osp.join(str(src), name, filename))


@pytest.mark.parametrize('existing', ['train', 'test'])
def test_split_image_folder_refuses_previous_split(tmp_path, source_folder, existing):
    src, _ = source_folder
    dst = tmp_path / 'out'
    make_file(dst / existing / 'cat' / 'old.png', 'old data')

    with pytest.raises(FileExistsError, match=existing):
        split_image_folder(str(src), str(dst))

    # Nothing was written before refusing.
    assert files_on_disk(dst) == [osp.join(existing, 'cat', 'old.png')]


def test_split_image_folder_rejects_unknown_mode(tmp_path, source_folder):
    src, _ = source_folder
    with pytest.raises(ValueError, match='mode'):
        split_image_folder(str(src), str(tmp_path / 'out'), mode='move')
    assert not (tmp_path / 'out').exists()
