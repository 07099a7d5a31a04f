"""mim's model index: ``model-index.yml`` and the metafiles, read by the real ``mim search``."""

import glob
import os.path as osp
from pathlib import Path

import pytest
import yaml
from mmtl_testing import REPO_ROOT, describe, run_command, tool_env

CONFIG_NAMES = sorted(
    osp.basename(p)[:-3] for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))
)
#: Configs whose model is built to check the metafile's counts (one per kind of head/freezing).
COUNTED = ('mobilenet-v2_digits', 'mobilenet-v2_fruit', 'resnet50_linear-probe_fruit')


def metafile_models():
    """Every model entry of the metafiles that ``model-index.yml`` imports."""
    with open(osp.join(REPO_ROOT, 'model-index.yml'), encoding='utf-8') as f:
        index = yaml.safe_load(f)
    models = []
    for path in index['Import']:
        with open(osp.join(REPO_ROOT, path), encoding='utf-8') as f:
            models += yaml.safe_load(f)['Models']
    return models


def listed_config_ids(stdout: str):
    return [line.split(':', 1)[1].strip() for line in stdout.splitlines() if 'config id:' in line]


def test_mim_search_lists_every_config(tmp_path):
    result = run_command(['mim', 'search', 'mmtl'], cwd=str(tmp_path))
    assert result.returncode == 0, describe(result)
    assert sorted(listed_config_ids(result.stdout)) == CONFIG_NAMES
    # The measured demo figure and the weights URL come through mim's parsing.
    assert 'sklearn digits/top_1_accuracy  99.72' in result.stdout


def test_mim_search_by_model_family(tmp_path):
    result = run_command(['mim', 'search', 'mmtl', '--model', 'mobilenet'], cwd=str(tmp_path))
    assert result.returncode == 0, describe(result)
    ids = listed_config_ids(result.stdout)
    assert ids == sorted(n for n in CONFIG_NAMES if n.startswith('mobilenet-v2_'))
    assert 'mobilenet-v2_fruit' in ids and 'resnet50_fruit' not in result.stdout


def test_metafiles_agree_with_the_configs():
    """Name, Config and Weights are the config's own; Parameters/FLOPs those of its model."""
    from mmtl.analysis import model_summary as ms
    from mmtl.apis import init_model
    from mmtl.config.access import input_size_from_config
    from mmtl.config.load import load_config

    models = metafile_models()
    assert sorted(m['Name'] for m in models) == CONFIG_NAMES
    for entry in models:
        assert entry['Config'] == f'configs/{entry["Name"]}.py'
        cfg = load_config(osp.join(REPO_ROOT, entry['Config']))
        assert entry.get('Weights') == cfg.get('load_from'), entry['Name']
        meta = entry['Metadata']
        assert meta['Epochs'] == cfg.train_cfg.max_epochs
        assert meta['Batch Size'] == cfg.train_dataloader.batch_size
        if entry['Name'] in COUNTED:
            model = init_model(cfg)
            assert (meta['Parameters'], meta['Trainable Parameters']) == ms.count_params(model)
            height, width = input_size_from_config(cfg)
            assert meta['Input Size'] == height
            assert meta['FLOPs'] == ms.count_flops(model, (3, height, width))


def test_results_only_where_measured():
    """Only the digits demo was trained in this repository; no other entry claims a result."""
    with_results = {m['Name']: m['Results'] for m in metafile_models() if m.get('Results')}
    assert list(with_results) == ['mobilenet-v2_digits']
    metrics = with_results['mobilenet-v2_digits'][0]['Metrics']
    assert metrics['Top 1 Accuracy'] == 99.72


@pytest.mark.slow
def test_normal_install_ships_the_model_index(tmp_path, normal_install):
    """``pip install .`` copies model-index.yml and the metafiles; ``mim search`` reads them."""
    site = Path(normal_install)
    index = site / 'mmtl' / '.mim' / 'model-index.yml'
    assert index.is_file() and not index.is_symlink()
    assert (site / 'mmtl' / '.mim' / 'configs' / 'resnet' / 'metafile.yml').is_file()
    env = tool_env(str(tmp_path), PYTHONPATH=str(site))
    result = run_command(['mim', 'search', 'mmtl', '--model', 'resnet'], cwd=str(tmp_path), env=env)
    assert result.returncode == 0, describe(result)
    assert listed_config_ids(result.stdout) == [n for n in CONFIG_NAMES if n.startswith('resnet')]
