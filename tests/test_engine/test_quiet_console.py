"""The quiet console: the header, validations and summary on screen; everything in the file."""

import io
import logging

from mmtl.engine.hooks.progress_bar_hook import quiet_console, short_metrics_line

LINES = [
    (logging.INFO, 'Config:\n_base_ = ...\nmodel = dict(...)'),
    (logging.INFO, 'Hooks will be executed in the following order:\nbefore_run:\n...'),
    (logging.INFO, 'paramwise_options -- head.fc.bias:weight_decay=0.0'),
    (logging.INFO, 'Batch: world size 1 x 32 per process = effective batch 32. lr 0.004'),
    (logging.INFO, 'Epoch(train) [1][10/10]  lr: 4.0000e-03  loss: 1.0671'),
    (logging.WARNING, '"FileClient" will be deprecated in future. Please use io functions'),
    (logging.WARNING, '"HardDiskBackend" is the alias of "LocalBackend" and the former will'),
    (logging.WARNING, 'Accuracy: top-k for k in [5] skipped: the model has only 3 classes.'),
    (logging.INFO, 'Epoch(val) [1][1/1]  accuracy/top1: 33.9450  data_time: 0.3851'),
    (logging.INFO, 'Finished 2 epochs (20 iterations): best checkpoint wd/best.pth (33.94)'),
]


def logged(quiet: bool, tmp_path):
    logger = logging.getLogger(f'quiet_console_{quiet}_{tmp_path.name}')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = io.StringIO()
    logger.addHandler(logging.StreamHandler(console))
    file_handler = logging.FileHandler(tmp_path / f'{quiet}.log')
    logger.addHandler(file_handler)
    if quiet:
        quiet_console(logger)
    for level, message in LINES:
        logger.log(level, message)
    file_handler.close()
    return console.getvalue(), (tmp_path / f'{quiet}.log').read_text()


def test_the_console_shows_what_a_person_reads_and_the_file_keeps_all(tmp_path):
    console, log_file = logged(True, tmp_path)
    assert 'Config:' not in console and 'Hooks will be executed' not in console
    assert 'paramwise_options' not in console
    assert 'FileClient' not in console and 'HardDiskBackend' not in console
    for kept in ('Batch:', 'Epoch(train)', 'top-k for k in [5]', 'Epoch(val)', 'Finished'):
        assert kept in console, kept
    assert len(console.splitlines()) == 5
    full_console, full_file = logged(False, tmp_path)
    assert log_file == full_file == full_console  # the file is unchanged, verbose shows all


def test_test_lines_lose_tensors_and_curves_on_the_console():
    line = (
        'Epoch(test) [2/2]    accuracy/top1: 90.0000  single-label/confusion_matrix: '
        'tensor([[5, 0],\n        [1, 4]])  roc/fpr: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, '
        '0.8, 0.9]  auc/macro: 0.9500  data_time: 0.0100'
    )
    assert short_metrics_line(line) == (
        'Epoch(test) [2/2]  accuracy/top1: 90.0000  auc/macro: 0.9500  data_time: 0.0100'
    )
    assert short_metrics_line('Config: a  b: 1') == 'Config: a  b: 1'
