"""The one escaping rule for names written to CSV, JSON and terminals (``safe_text``).

Class names come from checkpoints and file names from folders: both are data from outside.
Written raw, ``=HYPERLINK(...)`` became a formula in a spreadsheet, a tab or newline forged
CSV and stdout rows, and ESC sequences reached the terminal.
"""

import csv
import io
import json

import numpy as np
import pytest

from mmtl.utils.prediction_rows import dump_rows, inference_row, safe_text, topk_entries


@pytest.mark.parametrize(
    'name',
    ['apple', 'café', '苹果', 'a b', 'photos/x 1.png', 'négatif-1', '50%', 'a=b', 'x@y', ''],
)
def test_ordinary_names_are_kept_as_they_are(name):
    assert safe_text(name) == name


@pytest.mark.parametrize(
    'name',
    [
        '=HYPERLINK("http://evil","click")',
        '+1+cmd|/C calc!A0',
        '-2+3',
        '@SUM(A1:A2)',
        '  =1+1',  # spaces before the sign
        '\uff1d1+1',  # full-width equals sign
        '\uff20SUM(A1)',
    ],
)
def test_a_formula_start_is_shown_as_text(name):
    assert safe_text(name) == "'" + name


@pytest.mark.parametrize(
    ('name', 'shown'),
    [
        ('\x1b[31mred', '\\x1b[31mred'),  # ANSI colour (CSI)
        ('\x1b]0;title\x07', '\\x1b]0;title\\x07'),  # OSC: sets the terminal's title
        ('\x9b31mred', '\\x9b31mred'),  # the 8-bit CSI (C1)
        ('a\tb', 'a\\tb'),
        ('a\nb', 'a\\nb'),
        ('a\rb', 'a\\rb'),
        ('nul\x00', 'nul\\x00'),
        ('del\x7f', 'del\\x7f'),
        ('nel\x85', 'nel\\x85'),
        ('line\u2028sep', 'line\\u2028sep'),
        ('\u202egpj.exe', '\\u202egpj.exe'),  # right-to-left override: reads "exe.jpg"
        ('\u2066iso\u2069', '\\u2066iso\\u2069'),
        ('bad\udcff.png', 'bad\\xff.png'),  # an undecodable byte of a file name
        ('\t=1+1', '\\t=1+1'),  # a tab first is escaped: no formula, no column
    ],
)
def test_control_characters_are_shown_escaped(name, shown):
    assert safe_text(name) == shown


def test_escaped_text_has_no_control_character_left():
    codes = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0x202E]
    every = ''.join(chr(c) for c in codes)
    text = safe_text(every)
    assert all(0x20 <= ord(c) < 0x7F for c in text)
    assert text.splitlines() == [text]  # no line break of any kind


EVIL = ('=HYPERLINK("http://x","a")', 'b\tc\nd', '\x1b]0;pwn\x07e')


def rows():
    results = [
        {'img_path': 'p/\x1b[2Jimg\n0.png', 'pred_label': 0, 'pred_class': EVIL[0]},
        {'img_path': '-1.png', 'pred_label': 1, 'pred_class': EVIL[1]},
    ]
    for result, scores in zip(results, ([0.7, 0.2, 0.1], [0.1, 0.8, 0.1])):
        result['pred_scores'] = np.array(scores)
        result['pred_score'] = max(scores)
    return [inference_row(result, 3, EVIL) for result in results]


def test_csv_has_one_row_per_image_and_no_formula():
    out = io.StringIO()
    dump_rows(rows(), out, as_json=False)
    text = out.getvalue()
    assert '\x1b' not in text and '\t' not in text
    read = list(csv.DictReader(io.StringIO(text)))
    assert len(read) == 2  # no forged row
    assert read[0]['image'] == 'p/\\x1b[2Jimg\\n0.png'
    assert read[1]['image'] == "'-1.png"
    assert read[0]['pred_class'] == read[0]['top1_class'] == "'" + EVIL[0]
    assert read[1]['pred_class'] == 'b\\tc\\nd'
    for row in read:
        for key, value in row.items():
            if key.endswith('class') or key == 'image':
                assert not value.startswith(('=', '+', '-', '@')), (key, value)


def test_json_holds_the_same_escaped_names():
    out = io.StringIO()
    dump_rows(rows(), out, as_json=True)
    read = json.loads(out.getvalue())
    assert read[0]['pred_class'] == "'" + EVIL[0]
    assert [entry['class'] for entry in read[0]['topk']] == [safe_text(name) for name in EVIL]
    assert read[1]['image'] == "'-1.png"


def test_a_class_list_shorter_than_the_scores_is_refused_naming_both_counts():
    with pytest.raises(ValueError, match='names 2 classes for a model that scores 3'):
        topk_entries(np.array([0.2, 0.3, 0.5]), 3, ('a', 'b'))


def test_user_errors_reach_the_terminal_escaped_and_unchanged_otherwise(capsys):
    from mmtl.utils.cli import run_with_clear_errors
    from mmtl.utils.errors import ConfigError

    def fail(message):
        def run():
            raise ConfigError(message)

        return run

    assert run_with_clear_errors(fail('--out x.txt: bad \x1b[2Jname\nforged')) == 1
    assert capsys.readouterr().err == 'error: --out x.txt: bad \\x1b[2Jname\\nforged\n'


def test_drawing_a_prediction_with_too_few_class_names_is_refused():
    from mmtl.visualization.prediction import draw_prediction

    with pytest.raises(ValueError, match='names 2 classes for a model that scores 3'):
        draw_prediction(np.zeros((8, 8, 3), np.uint8), np.array([0.2, 0.3, 0.5]), ['a', 'b'])
