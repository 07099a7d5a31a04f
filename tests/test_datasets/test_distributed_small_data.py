"""Several training processes on small data: the images left out each epoch are said before
training, with what to do (computed here without launching processes)."""

import pytest
from mmengine.dataset import DefaultSampler

import mmtl.datasets.batch_samplers as batch_samplers
from mmtl.datasets.batch_samplers import SmallDataBatchSampler, images_left_out


@pytest.mark.parametrize(
    'num_images, world_size, batch, drop_last, expected',
    [
        (12, 1, 4, True, 0),  # one process: 3 full batches
        (12, 2, 4, True, 4),  # 6 per process: one batch of 4 each, a third left out
        (10, 2, 4, True, 2),  # 5 per process, 4 used
        (13, 2, 4, False, 0),  # padded to 7 per process, every batch kept
        (13, 2, 7, True, 0),  # 7 per process (one image repeated), one full batch each
        (9, 4, 2, True, 1),  # 3 per process, 2 used: 8 of 9
    ],
)
def test_images_left_out(num_images, world_size, batch, drop_last, expected):
    assert images_left_out(num_images, world_size, batch, drop_last) == expected


@pytest.mark.parametrize('rank, warned', [(0, True), (1, False)])
def test_two_processes_warn_once_with_what_to_do(monkeypatch, rank, warned):
    messages = []
    monkeypatch.setattr(batch_samplers, 'print_log', lambda msg, **kw: messages.append(msg))
    # The sampler of one of two processes, as mmengine builds it under torchrun.
    monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info', lambda: (rank, 2))
    sampler = DefaultSampler(list(range(12)), shuffle=True, seed=0)
    batches = SmallDataBatchSampler(sampler, batch_size=4, drop_last=True)
    assert [len(b) for b in batches] == [4]
    expected = (
        'Small dataset: 2 processes with batches of 4 leave out 4 of the 12 training images '
        'each epoch (each process drops its last batch of 2): train in one process, or give a '
        'train_dataloader.batch_size that divides the 6 images per process, or keep the last '
        'batches (train_dataloader.drop_last=False).'
    )
    assert (expected in messages) is warned


def test_the_small_data_rule_names_its_own_option(monkeypatch):
    messages = []
    monkeypatch.setattr(batch_samplers, 'print_log', lambda msg, **kw: messages.append(msg))
    monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info', lambda: (0, 2))
    SmallDataBatchSampler(DefaultSampler(list(range(10)), seed=0), batch_size=4)  # 5 each
    assert any('leave out 2 of the 10' in m and 'min_last_ratio=0' in m for m in messages)


def test_one_process_does_not_warn(monkeypatch):
    messages = []
    monkeypatch.setattr(batch_samplers, 'print_log', lambda msg, **kw: messages.append(msg))
    SmallDataBatchSampler(DefaultSampler(list(range(10)), seed=0), batch_size=4)
    assert not any('processes' in m for m in messages)
