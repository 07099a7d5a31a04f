"""mmtl.fit / mmtl.test from Python, and runner.test() after runner.train()."""

import os
import os.path as osp

import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT

import mmtl
from mmtl.apis.fit import find_checkpoint
from mmtl.utils import safe_torch_load
from mmtl.utils.errors import ConfigError

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def test_find_checkpoint_names_best_last_and_lists_what_exists(tmp_path):
    for name in ('epoch_1.pth', 'epoch_2.pth', 'best_accuracy_top1_epoch_1.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_checkpoint(str(tmp_path), 'best') == str(
        tmp_path / 'best_accuracy_top1_epoch_1.pth'
    )
    assert find_checkpoint(str(tmp_path), 'last') == str(tmp_path / 'epoch_2.pth')
    with pytest.raises(ConfigError) as err:
        find_checkpoint(str(tmp_path), 'epoch_9.pth', option='--checkpoint')
    assert str(err.value) == (
        f"--checkpoint 'epoch_9.pth': not found; checkpoints in {tmp_path}: "
        'best_accuracy_top1_epoch_1.pth, epoch_1.pth, epoch_2.pth'
    )
    os.remove(tmp_path / 'best_accuracy_top1_epoch_1.pth')
    with pytest.raises(ConfigError, match='best .no best_.*epoch_1.pth, epoch_2.pth'):
        find_checkpoint(str(tmp_path), 'best')


@pytest.mark.slow
def test_fit_then_test_tests_the_best_checkpoint(tmp_path, tiny_digits, caplog):
    options = {
        'data_root': tiny_digits,
        'model.head.num_classes': 3,
        'train_cfg.max_epochs': 3,
        'train_dataloader.batch_size': 4,
        'default_hooks.checkpoint.max_keep_ckpts': 3,
        'test_dataloader.dataset.data_prefix': 'val',  # tiny_digits has no test split
    }
    options.update(dict(option.split('=') for option in NO_WORKERS))
    options = {k: int(v) if str(v).isdigit() else v for k, v in options.items()}
    work_dir = str(tmp_path / 'run')
    runner = mmtl.fit(DIGITS, work_dir=work_dir, cfg_options=options, device='cpu')
    best = find_checkpoint(work_dir, 'best')
    last = find_checkpoint(work_dir, 'last')
    assert best != last, 'the run should end on a checkpoint that is not the best'

    # runner.test() after train: the best weights, said in the log.
    runner.test()
    log = open(
        next(osp.join(runner.log_dir, f) for f in os.listdir(runner.log_dir) if f.endswith('.log'))
    ).read()
    assert f'Testing the best checkpoint {best}' in log
    expected = safe_torch_load(best)['state_dict']
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, expected[key]), key

    metrics = mmtl.test(runner)
    assert metrics['checkpoint'] == best and 'accuracy/top1' in metrics
    assert mmtl.test(work_dir, checkpoint='last', device='cpu')['checkpoint'] == last
