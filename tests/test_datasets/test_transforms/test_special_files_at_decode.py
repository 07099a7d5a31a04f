"""A file that became a FIFO or a device after it was listed is refused by the decoder
itself, without reading: no hang, no endless read."""

import os
import signal

import pytest

from mmtl.datasets.transforms.image_io import ImageDecodeError, decode_image_file
from mmtl.datasets.transforms.loading import read_header


@pytest.fixture
def alarm():
    """Fail instead of hanging: a blocking open of a FIFO would wait for a writer."""

    def timeout(signum, frame):
        raise TimeoutError('the decoder blocked on a special file')

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize('reader', [decode_image_file, read_header], ids=['decode', 'header'])
def test_a_fifo_named_jpg_is_refused_unread(tmp_path, alarm, reader):
    fifo = tmp_path / 'photo.jpg'
    os.mkfifo(fifo)
    with pytest.raises(ImageDecodeError, match=r'photo.jpg: not a regular file'):
        reader(str(fifo))


@pytest.mark.parametrize('reader', [decode_image_file, read_header], ids=['decode', 'header'])
def test_a_link_to_dev_zero_is_refused_unread(tmp_path, alarm, reader):
    link = tmp_path / 'zero.png'
    os.symlink('/dev/zero', link)
    with pytest.raises(ImageDecodeError, match=r'zero.png: not a regular file'):
        reader(str(link))
