"""Safetensors weights: export a checkpoint, load it back through mmengine and mmtl."""

import json
import os.path as osp
import sys

import torch
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmpretrain.models import ImageClassifier
from mmtl_testing import REPO_ROOT, tool_status

import mmtl.engine  # noqa: F401  (registers mmtl's checkpoint loaders)
from mmtl.utils.safetensors_io import load_safetensors

sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
import export_safetensors  # noqa: E402

sys.path.pop(0)


def small_classifier(num_classes=3):
    return ImageClassifier(
        backbone=dict(
            type='ResNet', depth=18, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)
        ),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=64),
    )


def test_export_then_load_from_gives_the_same_weights_and_classes(tmp_path, capsys):
    torch.manual_seed(0)
    source = small_classifier()
    pth = str(tmp_path / 'epoch_3.pth')
    torch.save(
        {
            'meta': {'epoch': 3, 'dataset_meta': {'classes': ('apple', 'banana', 'kiwi')}},
            'state_dict': source.state_dict(),
            'optimizer': {'state': {}, 'param_groups': []},
        },
        pth,
    )

    assert export_safetensors.main([pth]) == 0
    out = str(tmp_path / 'epoch_3.safetensors')
    expected = len(source.state_dict())
    assert capsys.readouterr().out.strip() == f'wrote {expected} tensors to {out}'
    with open(out, 'rb') as f:
        header_size = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(header_size))
    assert json.loads(header['__metadata__']['dataset_meta']) == {
        'classes': ['apple', 'banana', 'kiwi']
    }

    loaded = CheckpointLoader.load_checkpoint(out)
    assert loaded['meta']['dataset_meta']['classes'] == ['apple', 'banana', 'kiwi']
    assert set(loaded['state_dict']) == set(source.state_dict())

    target = small_classifier()
    load_checkpoint(target, out, map_location='cpu')
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


def test_load_safetensors_without_class_names(tmp_path):
    from mmtl.utils.safetensors_io import save_safetensors

    path = str(tmp_path / 'bare.safetensors')
    assert save_safetensors({'w': torch.arange(6.0).reshape(2, 3)}, path) == 1
    loaded = load_safetensors(path)
    assert loaded['meta'] == {}
    assert torch.equal(loaded['state_dict']['w'], torch.arange(6.0).reshape(2, 3))


def test_the_docs_name_the_file_the_export_writes():
    """docs/reliability.md shows example calls (in short, and in detail) and the file written."""
    import re

    examples = []
    for doc in (osp.join('docs', 'reliability.md'),):
        with open(osp.join(REPO_ROOT, doc), encoding='utf-8') as f:
            text = ' '.join(f.read().split())
        examples += re.findall(
            r'export_safetensors (\S+\.pth)`.*?writes.*?`(\S+\.safetensors)`', text
        )
    assert len(examples) == 2, examples
    for checkpoint, written in examples:
        assert export_safetensors.default_output(checkpoint) == written


def test_export_refuses_to_overwrite_its_input(tmp_path, capsys):
    path = str(tmp_path / 'model.safetensors')
    with open(path, 'wb') as f:
        f.write(b'not touched')
    assert tool_status(export_safetensors.main, [path]) == 2
    assert 'is the input checkpoint' in capsys.readouterr().err
    with open(path, 'rb') as f:
        assert f.read() == b'not touched'
