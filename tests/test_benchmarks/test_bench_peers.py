"""benchmarks/bench_peers.py in its tiny mode: every contender measured, ratios coherent."""

import importlib
import json
import os.path as osp
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH_DIR = osp.join(REPO_ROOT, 'benchmarks')

pytest.importorskip('timm')
pytestmark = pytest.mark.slow


def test_peers_tiny_run_measures_every_contender(tmp_path):
    threads = torch.get_num_threads()
    sys.path.insert(0, BENCH_DIR)
    try:
        bench = importlib.import_module('bench_peers')
        out = tmp_path / 'peers.json'
        result = bench.main(['--tiny', '--out', str(out), '--data-dir', str(tmp_path / 'data')])
    finally:
        sys.path.remove(BENCH_DIR)
        torch.set_num_threads(threads)
    training = result['training']['mobilenet_v2']
    assert set(training) == {
        'mmtl fp32',
        'mmtl bf16',
        'timm fp32',
        'timm bf16',
        'torchvision fp32',
        'mmpretrain fp32',
    }
    assert all(r['images_per_s'] > 0 and r['images_per_cpu_s'] > 0 for r in training.values())
    assert set(result['inference']) == {'mmtl_eager', 'timm_eager', 'mmtl_onnx', 'timm_onnx'}
    ratio = result['ratios']['mobilenet_v2: mmtl fp32 / timm fp32']['cpu']
    expected = training['mmtl fp32']['images_per_cpu_s'] / training['timm fp32']['images_per_cpu_s']
    assert ratio == pytest.approx(expected, rel=1e-3)
    assert json.loads(out.read_text())['table'].startswith('| model | contender |')
