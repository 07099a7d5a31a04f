"""benchmarks/bench_feature_cache.py in its tiniest mode: every row is there, ratios are
quotients of the recorded times, goals are judged on them."""

import importlib
import json
import os.path as osp
import sys

import pytest
import torch
from mmtl_testing import REPO_ROOT

BENCH_DIR = osp.join(REPO_ROOT, 'benchmarks')


@pytest.mark.slow
def test_feature_cache_benchmark_tiny(tmp_path):
    threads = torch.get_num_threads()
    sys.path.insert(0, BENCH_DIR)
    try:
        bench = importlib.import_module('bench_feature_cache')
        out = tmp_path / 'feature_cache.json'
        bench.main(['--tiny', '--out', str(out), '--data-dir', str(tmp_path / 'data')])
    finally:
        sys.path.remove(BENCH_DIR)
        torch.set_num_threads(threads)
    record = json.loads(out.read_text())
    cpu = {name: run['cpu_s_per_epoch'] for name, run in record['runs'].items()}
    assert all(value > 0 for value in cpu.values()) and len(cpu) == 5
    cached = cpu['mmtl linear probe + FeatureCacheHook']
    ratios = record['ratios']
    assert ratios['linear probe: cache / no cache'] == pytest.approx(
        cpu['mmtl linear probe'] / cached, rel=1e-3
    )
    assert ratios['linear probe: cache / mmpretrain'] == pytest.approx(
        cpu['mmpretrain, frozen_stages=7'] / cached, rel=1e-3
    )
    assert ratios['partial-ft: cache / no cache'] == pytest.approx(
        cpu['mmtl partial-ft'] / cpu['mmtl partial-ft + FeatureCacheHook'], rel=1e-3
    )
    probe = record['probe']
    assert probe['images'] == 100 and probe['features'] == 1280 and probe['solve_s'] > 0
    solve_goal = next(g for name, g in record['goals'].items() if 'solve' in name)
    assert solve_goal['value'] == probe['solve_cpu_s']
    assert solve_goal['met'] == (probe['solve_cpu_s'] < 10.0)
    memory = record['memory_per_1000_images']['MobileNet-v2']
    assert memory['probe_shape'] == [1280]
    assert memory['probe_mib'] == pytest.approx(1280 * 4 * 1000 / 2**20)
