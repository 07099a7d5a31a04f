"""The benchmark scripts in their tiniest mode: the JSON they write is complete and coherent.

No timing assertions (the figures of a tiny run on a shared machine mean nothing); the
checks are that every figure is there and positive, and that each recorded ratio is the
quotient of the recorded figures.
"""

import importlib
import json
import os.path as osp
import re
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

BENCH_DIR = osp.join(REPO_ROOT, 'benchmarks')

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def bench_module():
    """Import a benchmark script by name (restoring torch's thread count afterwards)."""
    threads = torch.get_num_threads()
    sys.path.insert(0, BENCH_DIR)
    yield lambda name: importlib.import_module(name)
    sys.path.remove(BENCH_DIR)
    torch.set_num_threads(threads)


def run_tiny(bench_module, name: str, tmp_path, data_dir) -> dict:
    out = tmp_path / f'{name}.json'
    bench_module(name).main(['--tiny', '--out', str(out), '--data-dir', str(data_dir)])
    with open(out) as f:
        record = json.load(f)
    assert record['machine']['cpus'] >= 1
    assert record['table'].startswith('|')
    return record


def assert_quotient(ratio: float, numerator: float, denominator: float) -> None:
    assert numerator > 0 and denominator > 0
    assert ratio == pytest.approx(numerator / denominator, rel=1e-3)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('bench_data')


def test_data_pipeline_benchmark(bench_module, tmp_path, data_dir):
    record = run_tiny(bench_module, 'bench_data_pipeline', tmp_path, data_dir)
    assert set(record['folders']) == {'phone', 'small'}
    for folder in record['folders'].values():
        rates = folder['images_per_cpu_s']
        assert set(rates) == {'torchvision', 'mmpretrain', 'mmtl LoadImage', 'mmtl default'}
        ratios = folder['images_per_cpu_s_ratio_to_mmpretrain']
        for name, value in rates.items():
            assert_quotient(ratios[name], value, rates['mmpretrain'])
        assert set(ratios) == set(rates)  # a ratio for every pipeline, no stray one
        assert 'images_per_s' not in folder  # no worker run in tiny mode (0 workers)
    assert record['folders']['phone']['images'] == 4  # 2 classes x 2 images
    lines = record['table'].splitlines()
    assert len(lines) == 2 + 8 + 1 + 2 + 2  # 4 pipelines x 2 folders, blank, 2 goals
    goals = record['goals']
    for kind, target in (('phone', 2.5), ('small', 1.2)):
        g = goals[f'{kind} photos, mmtl default / mmpretrain (per CPU-s)']
        ratio = record['folders'][kind]['images_per_cpu_s_ratio_to_mmpretrain']['mmtl default']
        assert g['value'] == ratio and g['met'] == (ratio >= target)


def test_framework_benchmark(bench_module, tmp_path, data_dir):
    record = run_tiny(bench_module, 'bench_framework', tmp_path, data_dir)
    size = bench_module('bench_framework').SIZES['tiny']
    assert record['iterations'] == size['iters'] - size['warmup']
    assert_quotient(
        record['ratio_runner_to_bare'], record['runner_s_per_iter'], record['bare_s_per_iter']
    )
    assert_quotient(
        record['cpu_ratio_runner_to_bare'],
        record['runner_cpu_s_per_iter'],
        record['bare_cpu_s_per_iter'],
    )


def test_inference_benchmark(bench_module, tmp_path, data_dir):
    record = run_tiny(bench_module, 'bench_inference', tmp_path, data_dir)
    assert record['images'] == 2
    # Time ratio = inverse ratio of throughputs.
    assert_quotient(
        record['ratio_api_time_to_raw'], record['raw_images_per_s'], record['api_images_per_s']
    )
    assert_quotient(
        record['cpu_ratio_api_to_raw'],
        record['raw_images_per_cpu_s'],
        record['api_images_per_cpu_s'],
    )
    assert_quotient(
        record['ratio_single_api_to_raw'], record['api_single_ms'], record['raw_single_ms']
    )


def test_scale_benchmark(bench_module, tmp_path, data_dir):
    record = run_tiny(bench_module, 'bench_scale', tmp_path, data_dir)
    sizes = bench_module('bench_scale').SIZES['tiny']
    assert [r['files'] for r in record['scan']] == sizes['scan']
    for row in record['scan']:
        assert_quotient(row['list_files_per_s'], row['files'], row['list_s'])
        assert_quotient(row['dataset_files_per_s'], row['files'], row['dataset_s'])
        assert 10 < row['kept_bytes_per_file'] < 2000  # a path and a label, serialised
        assert row['peak_bytes_per_file'] > 0
    assert [r['images'] for r in record['train']] == [3 * (n // 3) for n in sizes['train']]
    for row in record['train']:
        assert_quotient(row['ms_per_image'], row['epoch_s'] * 1e3, row['images'])


def test_run_all_collects_tables_and_reports_failures(tmp_path, monkeypatch, bench_module):
    run_all = bench_module('run_all')
    good = tmp_path / 'bench_good.py'
    good.write_text(
        'import json, sys\n'
        "out = sys.argv[sys.argv.index('--out') + 1]\n"
        "json.dump({'table': '| a |\\n|---|\\n| ' + str('--quick' in sys.argv) + ' |'}, "
        "open(out, 'w'))\n"
    )
    bad = tmp_path / 'bench_bad.py'
    bad.write_text("raise SystemExit('no such model: xyz')\n")
    monkeypatch.setattr(run_all, 'benchmark_scripts', lambda: [str(bad), str(good)])
    out_dir = tmp_path / 'out'
    assert run_all.main(['--quick', '--out-dir', str(out_dir)]) == 1
    summary = (out_dir / 'summary.md').read_text()
    assert '## bad (FAILED (exit 1)' in summary and 'no such model: xyz' in summary
    assert '## good (ok' in summary and '| True |' in summary
    assert json.loads((out_dir / 'good.json').read_text())['table'].startswith('| a |')


def test_run_all_writes_the_docs_page_and_keeps_sections_it_did_not_run(
    tmp_path, monkeypatch, bench_module
):
    run_all = bench_module('run_all')
    scripts = {}
    for name, value in (('alpha', 1), ('beta', 2)):
        script = tmp_path / f'bench_{name}.py'
        script.write_text(
            'import json, sys\n'
            "out = sys.argv[sys.argv.index('--out') + 1]\n"
            f"json.dump({{'table': '| x |\\n|---|\\n| {value} |'}}, open(out, 'w'))\n"
        )
        scripts[name] = str(script)
    page = tmp_path / 'docs' / 'results.md'
    monkeypatch.setattr(run_all, 'benchmark_scripts', lambda: sorted(scripts.values()))
    out_dir = str(tmp_path / 'out')
    assert run_all.main(['--quick', '--out-dir', out_dir, '--docs', str(page)]) == 0
    first = page.read_text()
    assert first.startswith('# Benchmark results (generated)')
    assert '--docs' in first.split('\n## ')[0]  # the header names the command
    sections = run_all.read_doc_sections(str(page))
    assert list(sections) == ['alpha', 'beta']
    assert f'`python {scripts["alpha"]} --quick`' in sections['alpha']
    assert re.search(r'\d{4}-\d\d-\d\d \d\d:\d\d UTC, \d+ CPUs, load average', sections['beta'])
    assert '| 2 |' in sections['beta']

    # A later run of one benchmark replaces its section only.
    (tmp_path / 'bench_alpha.py').write_text(
        (tmp_path / 'bench_alpha.py').read_text().replace('| 1 |', '| 7 |')
    )
    assert run_all.main(['--out-dir', out_dir, '--only', 'alpha', '--docs', str(page)]) == 0
    sections_after = run_all.read_doc_sections(str(page))
    assert '| 7 |' in sections_after['alpha'] and '--quick' not in sections_after['alpha']
    assert sections_after['beta'] == sections['beta']


def test_scan_cache_benchmark(bench_module, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv('MMTL_CACHE_DIR', str(tmp_path / 'cache'))
    record = run_tiny(bench_module, 'bench_scan_cache', tmp_path, data_dir)
    assert record['files'] == bench_module('bench_scan_cache').SIZES['tiny']
    rates = record['scan_files_per_s']
    for name, (_seconds, scan_seconds) in record['seconds'].items():
        if scan_seconds:
            assert_quotient(rates[name], record['files'], scan_seconds)
    first = max(rates['first scan, 1 process'], rates['first scan, process pool'])
    goals = record['goals']
    assert goals['first scan, files/s (1 process or pool)']['value'] == round(first)
    rescan = goals['re-scan of the unchanged folder, files/s']
    assert rescan['value'] == round(rates['re-scan, cache'])
    assert rescan['met'] == (rescan['value'] >= 500_000)


def test_scan_decode_benchmark(bench_module, tmp_path, data_dir):
    record = run_tiny(bench_module, 'bench_scan_decode', tmp_path, data_dir)
    assert [row['files'] for row in record['rows']] == ['jpg 640px', 'png 640px']
    for row in record['rows']:
        assert row['1/8 vs header'] == pytest.approx(row['decode-1/8 ms'] / row['header ms'], 0.05)


def test_every_benchmark_takes_the_common_options():
    """run_all passes ``--out FILE [--quick]`` to every bench_*.py: each must parse them with
    common.parse_args (two did not, and failed inside ``run_all.sh --quick``)."""
    import glob

    scripts = sorted(glob.glob(osp.join(BENCH_DIR, 'bench_*.py')))
    assert len(scripts) >= 10
    missing = [osp.basename(path) for path in scripts if 'parse_args(' not in open(path).read()]
    assert missing == []
