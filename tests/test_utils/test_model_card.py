"""A checkpoint is data: its model card is a few checked values, and nothing in a checkpoint
imports, reads, fetches or writes anything.

Each attack below used to work through the config that checkpoints carried (``meta.cfg``):
a scope or a type that made mmengine import a module of the current folder, a backbone that
fetched from the hub or opened a file, sizes that allocated gigabytes. A checkpoint now names
one of mmtl's base models; everything else in it is refused in one line.
"""

import os
import subprocess
import sys

import pytest
import torch
from mmtl_testing import REPO_ROOT

from mmtl.apis import init_model
from mmtl.config.model_card import (
    CARD_KEY,
    ModelCard,
    ModelCardError,
    base_model_configs,
    card_from_config,
    parse_card,
    read_card,
)

GOOD = dict(
    format=1,
    architecture='mobilenet_v2_1x',
    num_classes=3,
    classes=['cat', 'dog', 'fish'],
    input_size=32,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    test_resize='square',
    interpolation='bicubic',
    head={},
)


def card(**changes) -> dict:
    return {**GOOD, **changes}


def test_a_good_card_round_trips_and_builds_mmtls_own_model():
    parsed = parse_card(card(), 'good.pth')
    assert isinstance(parsed, ModelCard) and parse_card(parsed.to_dict(), 'again') == parsed
    cfg = parsed.to_config()
    assert cfg.model == base_model_configs()['mobilenet_v2_1x'] | {
        'head': cfg.model.head
    }  # the body is mmtl's file, unchanged
    assert cfg.model.head.num_classes == 3 and cfg.model.head.type == 'LinearClsHead'
    assert [step['type'] for step in cfg.test_dataloader.dataset.pipeline] == [
        'LoadImage',
        'Resize',
        'PackInputs',
    ]
    head = parse_card(card(head={'hidden_channels': [16], 'dropout': 0.2}), 'h').to_config()
    assert head.model.head.type == 'TransferClsHead' and head.model.head.hidden_channels == [16]


ATTACKS = {
    # what a config would have done, written into a card: unknown keys, refused
    'scope': (card(default_scope='evil_scope'), 'unknown key'),
    'type': (card(type='SGD'), 'unknown key'),
    'backbone': (card(backbone=dict(type='TIMMBackbone', pretrained=True)), 'unknown key'),
    'head type': (card(head={'type': 'os.system'}), 'head='),
    'checkpoint path in head': (card(head={'checkpoint_path': '/etc/passwd'}), 'head='),
    # the architecture is a name among mmtl's base models, never a path or module
    'path traversal': (card(architecture='../../../tmp/evil'), 'architecture='),
    'module name': (card(architecture='os'), 'architecture='),
    'not a string': (card(architecture=['mobilenet_v2_1x']), 'architecture='),
    # sizes that would allocate gigabytes
    'huge input': (card(input_size=60000), 'input_size='),
    'negative input': (card(input_size=-4), 'input_size='),
    'bool input': (card(input_size=True), 'input_size='),
    'huge class count': (card(num_classes=2_000_000, classes=None), 'num_classes='),
    'huge hidden layer': (card(head={'hidden_channels': [10**9]}), 'head='),
    'nan mean': (card(mean=[float('nan')] * 3), 'mean='),
    'zero std': (card(std=[0, 1, 1]), 'std='),
    # names that would forge output rows or reach the terminal
    'escape in class': (card(classes=['cat', '\x1b[31mdog', 'fish']), 'classes[1]'),
    'newline in class': (card(classes=['cat', 'dog\nfish', 'x']), 'classes[1]'),
    'bidi override': (card(classes=['cat', 'd\u202eog', 'fish']), 'classes[1]'),
    'duplicate class': (card(classes=['cat', 'dog', 'cat']), "'cat' twice"),
    'short class list': (card(classes=['cat', 'dog']), 'names 2 classes for a head of 3'),
    'non-string class': (card(classes=['cat', 3, 'fish']), 'classes[1]'),
    'other format': (card(format=2), 'format='),
    'missing size': ({k: v for k, v in GOOD.items() if k != 'input_size'}, 'lacks input_size'),
    'not a mapping': ('model = dict(type="ImageClassifier")', 'not a mapping'),
    'other resize': (card(test_resize='exec'), 'test_resize='),
}


@pytest.mark.parametrize('name', sorted(ATTACKS))
def test_a_card_outside_its_schema_is_refused_in_one_line(name):
    raw, expected = ATTACKS[name]
    with pytest.raises(ModelCardError) as info:
        parse_card(raw, 'evil.pth')
    message = str(info.value)
    assert expected in message and 'evil.pth' in message, message
    assert '\n' not in message and '\x1b' not in message and len(message) < 300


def test_no_card_means_the_config_is_needed():
    with pytest.raises(ModelCardError, match=r"no mmtl model card.*init_model\(CONFIG, 'x.pth'\)"):
        read_card({'meta': {'cfg': 'model = dict()'}, 'state_dict': {}}, 'x.pth')


_PROBE = r"""
import sys, torch
sys.path.insert(0, '.')   # a notebook's, `python -c`'s and `python -m`'s current folder
from mmtl.apis import init_model
for ckpt in CKPTS:
    try:
        init_model(ckpt)
        print('LOADED', ckpt)
    except Exception as err:
        print('REFUSED', type(err).__name__, str(err).splitlines()[0][:200])
print('IMPORTED', sorted(m for m in sys.modules if m.startswith(('evil', 'this', 'antigravity'))))
"""

EVIL_META = {
    'default scope': {'cfg': "default_scope = 'evil_scope'\nmodel = dict(type='ImageClassifier')"},
    'model type from another registry': {'cfg': "model = dict(type='evil_model')"},
    'zen': {'cfg': "model = dict(type='this')"},
    'card with scope': {CARD_KEY: card(default_scope='evil_scope')},
    'card with _scope_': {CARD_KEY: card(head={'_scope_': 'evil_scope'})},
}


def test_init_model_of_a_checkpoint_alone_imports_nothing_it_names(tmp_path):
    for module in ('evil_scope', 'evil_model'):
        (tmp_path / module).mkdir()
        (tmp_path / module / '__init__.py').write_text(
            f"open({str(tmp_path / 'RAN')!r}, 'w').write('{module}')\n"
        )
        (tmp_path / module / 'registry.py').write_text('import ' + module + '\n')
    ckpts = []
    for index, name in enumerate(sorted(EVIL_META)):
        ckpts.append(str(tmp_path / f'evil{index}.pth'))
        torch.save({'meta': EVIL_META[name], 'state_dict': {}}, ckpts[-1])
    result = subprocess.run(
        [sys.executable, '-c', f'CKPTS = {ckpts!r}\n' + _PROBE],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.count('REFUSED ModelCardError') == len(EVIL_META), (
        result.stdout + result.stderr
    )
    assert 'IMPORTED []' in result.stdout, result.stdout
    assert 'Zen of Python' not in result.stdout
    assert not (tmp_path / 'RAN').exists()


def test_training_config_gets_a_card_only_for_mmtls_own_models(tmp_path):
    from mmtl.config import load_config

    cfg = load_config('mobilenet-v2_fruit.py')
    made, reason = card_from_config(cfg, [f'c{i}' for i in range(30)])
    assert made is not None, reason
    assert (made.architecture, made.num_classes, made.input_size) == ('mobilenet_v2_1x', 30, 224)
    assert made.test_resize == 'crop' and made.head == {}
    stacked, _ = card_from_config(load_config('mobilenet-v2_stacked-head_fruit.py'))
    assert stacked.head == {'source_classes': 1000}
    cfg.model.backbone.widen_factor = 0.5  # not one of mmtl's base models any more
    none, reason = card_from_config(cfg)
    assert none is None and "not one of mmtl's base models" in reason
    cfg = load_config('mobilenet-v2_fruit.py')
    cfg.test_dataloader.dataset.pipeline.insert(1, dict(type='Solarize', thr=10))
    none, reason = card_from_config(cfg)
    assert none is None and 'test pipeline' in reason


@pytest.mark.parametrize('key', ['dataset_meta', CARD_KEY])
def test_init_model_refuses_checkpoint_class_names_with_control_characters(tmp_path, key):
    model = init_model('mobilenet-v2_digits.py', cfg_options={'model.head.num_classes': 2})
    ckpt = str(tmp_path / 'names.pth')
    meta = {key: {'classes': ['ok', '=HYPERLINK("x")\x1b[2J']}}
    torch.save({'meta': meta, 'state_dict': model.state_dict()}, ckpt)
    with pytest.raises(ModelCardError, match=rf'meta.{key}.classes\[1\]'):
        init_model('mobilenet-v2_digits.py', ckpt, cfg_options={'model.head.num_classes': 2})
