"""tools/compare.py on prediction files: McNemar textbook counts, noise, mismatched test sets."""

import json

import pytest
from mmtl_testing import import_tool, tool_status

from mmtl.utils.prediction_rows import dump_rows

compare_tool = import_tool('tools/compare.py')


def write_predictions(path, outcomes, order=None):
    """A ``tools/test.py --out`` CSV: image i of class 'a', predicted right when outcomes[i]."""
    rows = [
        {
            'image': f'test/a/{i}.png',
            'gt_label': 0,
            'gt_class': 'a',
            'pred_label': 0 if right else 1,
            'pred_class': 'a' if right else 'b',
            'pred_score': 0.9,
            'correct': right,
            'topk': [],
        }
        for i, right in enumerate(outcomes)
    ]
    if order is not None:
        rows = [rows[i] for i in order]
    with open(path, 'w', newline='') as f:
        dump_rows(rows, f, as_json=str(path).endswith('.json'))
    return str(path)


def agresti_outcomes():
    """Agresti's approval table: 794 both right, 150 only A, 86 only B, 570 both wrong."""
    a = [True] * 794 + [True] * 150 + [False] * 86 + [False] * 570
    b = [True] * 794 + [False] * 150 + [True] * 86 + [False] * 570
    return a, b


def test_compare_agrees_with_the_textbook_mcnemar(tmp_path, capsys):
    a, b = agresti_outcomes()
    path_a = write_predictions(tmp_path / 'a.csv', a)
    path_b = write_predictions(tmp_path / 'b.json', b, order=list(range(len(b)))[::-1])
    out = tmp_path / 'cmp.json'
    argv = [path_a, path_b, '--names', 'first', 'second', '--out', str(out)]
    assert compare_tool.main(argv) == 0
    printed = capsys.readouterr().out
    assert 'McNemar (chi2): 150 images only first gets right, 86 only second; p = 4.11e-05' in (
        printed
    )
    assert 'first is better' in printed
    record = json.loads(out.read_text())
    assert record['mcnemar']['statistic'] == pytest.approx(16.818, abs=1e-3)
    assert record['difference']['estimate'] == pytest.approx(100 * (86 - 150) / 1600)
    assert record['could_be_noise'] is False


def test_compare_says_could_be_noise(tmp_path, capsys):
    a = [True] * 20 + [False] * 10
    b = [True] * 21 + [False] * 9
    argv = [write_predictions(tmp_path / 'a.csv', a), write_predictions(tmp_path / 'b.csv', b)]
    assert compare_tool.main(argv) == 0
    printed = capsys.readouterr().out
    assert 'McNemar (exact)' in printed
    assert 'could be noise' in printed


def test_compare_refuses_other_test_images_in_one_line(tmp_path, capsys):
    path_a = write_predictions(tmp_path / 'a.csv', [True] * 5)
    path_b = write_predictions(tmp_path / 'b.csv', [True] * 6)
    assert tool_status(compare_tool.main, [path_a, path_b]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0
    assert 'not the same test images: 0 only in' in err and "'test/a/5.png'" in err


def test_compare_needs_a_config_for_checkpoints(tmp_path, capsys):
    with pytest.raises(SystemExit):
        compare_tool.parse_args(['a.pth', str(tmp_path / 'b.csv')])
    assert 'give --config to test it' in capsys.readouterr().err
