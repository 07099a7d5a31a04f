"""MLflow and W&B tracking through mmengine's vis backends, offline, read back with their clients.

One 2-epoch training run and one test run of the digits config with a user config that adds
``MLflowVisBackend`` (a local SQLite store: MLflow 3 refuses its old file store) and
``WandbVisBackend`` (``mode='offline'``).
"""

import glob
import json
import os.path as osp
import struct
import sys

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env

from mmtl.engine.hooks.test_metrics_vis_hook import scalar_metrics

pytestmark = pytest.mark.slow

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
USER_CONFIG = """_base_ = [{base!r}]
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='MLflowVisBackend', exp_name='mmtl-digits', tracking_uri={uri!r}),
    dict(type='WandbVisBackend', init_kwargs=dict(project='mmtl-digits', mode='offline',
                                                  dir={wandb_dir!r})),
]
visualizer = dict(vis_backends=vis_backends)
"""


@pytest.fixture(scope='module')
def tracked_runs(tmp_path_factory, digits_root):
    """Train (2 epochs) then test, both tracked; returns the folders and the test metrics."""
    root = tmp_path_factory.mktemp('tracking')
    uri, wandb_dir = f'sqlite:///{root}/mlflow.db', str(root / 'wandb_runs')
    config = root / 'tracked_digits.py'
    config.write_text(USER_CONFIG.format(base=DIGITS_CONFIG, uri=uri, wandb_dir=wandb_dir))
    env = tool_env(str(root), WANDB_MODE='offline', WANDB_SILENT='true', WANDB_DIR=wandb_dir)
    options = [f'data_root={digits_root}', 'model.head.num_classes=3', 'train_cfg.max_epochs=2']
    options += ['train_dataloader.batch_size=16', *NO_WORKERS]
    train = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), str(config)]
        + ['--work-dir', str(root / 'wd'), '--cfg-options', *options],
        cwd=str(root),
        env=env,
    )
    assert train.returncode == 0, describe(train)
    best = glob.glob(str(root / 'wd' / 'best_*.pth'))[0]
    test = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), str(config), best]
        + ['--work-dir', str(root / 'wd'), '--cfg-options', *options],
        cwd=str(root),
        env=env,
    )
    assert test.returncode == 0, describe(test)
    with open(root / 'wd' / 'test_metrics.json') as f:
        metrics = json.load(f)['metrics']
    return {'uri': uri, 'wandb_dir': wandb_dir, 'test_metrics': metrics}


def test_scalar_metrics_keep_numbers_only():
    import numpy as np
    import torch

    metrics = {'accuracy/top1': 91.5, 'auc': torch.tensor(0.5), 'cm': [[1, 2]], 'n': np.int64(3)}
    assert scalar_metrics(metrics) == {'test/accuracy/top1': 91.5, 'test/auc': 0.5, 'test/n': 3.0}


def test_mlflow_file_store_has_train_val_config_and_test(tracked_runs):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracked_runs['uri'])
    experiment = client.get_experiment_by_name('mmtl-digits')
    runs = client.search_runs([experiment.experiment_id], order_by=['attributes.start_time'])
    assert len(runs) == 2  # the training run, then the test run
    train, test = runs
    assert len(client.get_metric_history(train.info.run_id, 'loss')) >= 2  # train scalars
    assert len(client.get_metric_history(train.info.run_id, 'lr')) >= 2
    val = client.get_metric_history(train.info.run_id, 'accuracy/top1')
    assert [m.step for m in val] == [1, 2]  # one val top-1 per epoch
    assert train.data.params['train_cfg.max_epochs'] == '2'  # the config, flattened
    expected = tracked_runs['test_metrics']['accuracy/top1']
    assert test.data.metrics['test/accuracy/top1'] == pytest.approx(expected)


#: W&B's ``.wandb`` run file: LevelDB-style log blocks of protobuf ``Record`` messages.
WANDB_BLOCK, WANDB_FILE_HEADER, WANDB_RECORD_HEADER = 32768, 7, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def wandb_raw_records(path: str) -> list:
    """The serialized records of a ``.wandb`` file (wandb 0.31 ships no Python reader)."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b':W&B', f'{path} is no W&B run file'
    records, pending, pos = [], b'', WANDB_FILE_HEADER
    while pos + WANDB_RECORD_HEADER <= len(data):
        left = WANDB_BLOCK - pos % WANDB_BLOCK
        if left < WANDB_RECORD_HEADER:  # the rest of a block is padding
            pos += left
            continue
        _, length, kind = struct.unpack('<IHB', data[pos : pos + WANDB_RECORD_HEADER])
        chunk = data[pos + WANDB_RECORD_HEADER : pos + WANDB_RECORD_HEADER + length]
        pos += WANDB_RECORD_HEADER + length
        if kind == FULL:
            records.append(chunk)
        elif kind in (FIRST, MIDDLE):
            pending = (pending if kind == MIDDLE else b'') + chunk
        elif kind == LAST:
            records.append(pending + chunk)
    return records


def wandb_records(run_dir: str):
    """The history rows and the config of an offline W&B run, from its ``.wandb`` file."""
    from wandb.proto import wandb_internal_pb2

    history, config = [], {}
    for raw in wandb_raw_records(glob.glob(osp.join(run_dir, '*.wandb'))[0]):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof('record_type')
        if kind == 'history':
            row = {}
            for item in record.history.item:
                row[item.key or '/'.join(item.nested_key)] = json.loads(item.value_json)
            history.append(row)
        elif kind == 'config':
            for item in record.config.update:
                config[item.key or '/'.join(item.nested_key)] = json.loads(item.value_json)
    return history, config


def test_wandb_offline_runs_have_train_val_config_and_test(tracked_runs):
    runs = sorted(glob.glob(osp.join(tracked_runs['wandb_dir'], 'wandb', 'offline-run-*')))
    assert len(runs) == 2
    history, config = wandb_records(runs[0])
    assert sum('loss' in row for row in history) >= 2 and any('lr' in row for row in history)
    val = [row['accuracy/top1'] for row in history if 'accuracy/top1' in row]
    assert len(val) == 2  # one val top-1 per epoch
    assert config['train_cfg']['max_epochs'] == 2
    test_history, _ = wandb_records(runs[1])
    logged = [row['test/accuracy/top1'] for row in test_history if 'test/accuracy/top1' in row]
    assert logged == [pytest.approx(tracked_runs['test_metrics']['accuracy/top1'])]
