"""File names in figure captions are shown as plain, short text."""

from mmtl.visualization.figure import file_caption


def test_names_are_shortened_in_the_middle_and_kept_plain():
    assert file_caption('data/train/cat/IMG_2041.JPG') == 'IMG_2041.JPG'
    long = file_caption('/x/a_very_long_file_name_from_a_phone_01.png')
    assert len(long) == 24 and long.startswith('a_very_long') and long.endswith('_01.png')
    assert file_caption('/x/price_$5$.png') == r'price_\$5\$.png'  # no matplotlib math mode
    assert file_caption('/x/bell\x07\x1b[31m.png') == 'bell??[31m.png'
