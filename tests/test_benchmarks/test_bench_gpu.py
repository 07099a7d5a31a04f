"""benchmarks/bench_gpu.py and bench_precision.py on a machine without a GPU: a clean exit
with a message, the peak table, the FLOP count, and the measuring code run on the CPU."""

import importlib
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH_DIR = osp.join(REPO_ROOT, 'benchmarks')


@pytest.fixture(scope='module')
def bench():
    threads = torch.get_num_threads()
    sys.path.insert(0, BENCH_DIR)
    yield importlib.import_module('bench_gpu')
    sys.path.remove(BENCH_DIR)
    torch.set_num_threads(threads)


def test_no_gpu_exits_cleanly_with_a_message(tmp_path):
    out = tmp_path / 'gpu.json'
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        [sys.executable, osp.join(BENCH_DIR, 'bench_gpu.py'), '--quick', '--out', str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'no CUDA GPU is visible' in proc.stdout
    assert 'Traceback' not in proc.stderr
    record = json.loads(out.read_text())
    assert record['skipped'] is True and 'nothing was measured' in record['reason']


@pytest.mark.parametrize(
    'name, peak',
    [
        ('NVIDIA H200', 989.0),
        ('NVIDIA H100 80GB HBM3', 989.0),
        ('NVIDIA H100 PCIe', 756.0),
        ('NVIDIA A100-SXM4-80GB', 312.0),
        ('NVIDIA GeForce RTX 3090', 71.0),
        ('NVIDIA L40S', 362.0),
        ('Tesla T4', None),
    ],
)
def test_bf16_peak_by_device_name(bench, name, peak):
    assert bench.bf16_peak_tflops(name) == peak


@pytest.mark.slow
def test_resnet50_training_flops_are_three_forwards(bench):
    # ResNet-50 forward at 224 px is 4.1 GMACs = 8.2 GFLOPs; backward about twice that.
    assert 22.0 < bench.training_gflops_per_image('resnet50', 224) < 27.0


def test_peak_share_in_the_table(bench):
    results = [dict(arch='resnet50', variant='amp bf16', gpus=1, images_per_s=3000.0)]
    table = bench.gpu_table(results, 'NVIDIA H200', {'resnet50': 24.6})
    # 3000 img/s x 24.6 GFLOP = 73.8 TFLOP/s of 989.
    assert '| resnet50 | amp bf16 | 1 | 3000 | 826 | 7.5 % |' in table


def test_cpu_smoke_run_measures_every_variant(bench, tmp_path):
    out = tmp_path / 'gpu.json'
    result = bench.main(['--tiny', '--cpu-smoke', '--archs', 'mobilenet_v2', '--out', str(out)])
    variants = [r['variant'] for r in result['results']]
    assert variants == ['fp32', 'amp bf16', 'bf16 + channels_last']
    assert all(r['images_per_s'] > 0 for r in result['results'])
    assert '1832' in json.loads(out.read_text())['table']


def test_bench_precision_tiny_speed_and_ratios(tmp_path):
    sys.path.insert(0, BENCH_DIR)
    try:
        bench_precision = importlib.import_module('bench_precision')
        result = bench_precision.main(['--tiny', '--out', str(tmp_path / 'p.json')])
    finally:
        sys.path.remove(BENCH_DIR)
    speed = result['speed']
    for kind in ('train', 'infer'):
        fp32, bf16 = speed[f'{kind}_fp32']['wall_s'], speed[f'{kind}_bf16']['wall_s']
        assert fp32 > 0 and bf16 > 0
        assert speed[f'{kind}_speedup_wall'] == pytest.approx(fp32 / bf16, rel=1e-3)
