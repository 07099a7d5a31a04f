"""Distributed training and testing on CPU processes (gloo), gradient accumulation, lr
scaling, SyncBN and bf16 mixed precision.

The 2-process runs go through ``tools/dist_train.sh`` / ``tools/dist_test.sh`` (torchrun),
each on a free port. The data: 16 training images per digit 0-2 and an odd-sized test
split (so the distributed sampler must pad rank 1 with a repeated image).
"""

import glob
import json
import math
import os
import os.path as osp
import shutil
import sys
import textwrap
from types import SimpleNamespace

import mmengine
import pytest
import torch
from mmtl_testing import REPO_ROOT, describe, free_port, run_command, tool_env

from mmtl.apis.runner_setup import build_runner, prepare_train_config
from mmtl.engine import BF16AutocastOptimWrapper, MMTLRunner
from mmtl.utils import safe_torch_load
from mmtl.utils.errors import ConfigError
from mmtl.utils.run_args import train_parser

pytestmark = pytest.mark.slow

TOOLS = osp.join(REPO_ROOT, 'tools')
TRAIN_PER_CLASS = 16
CONFIG_LR = 4e-3  # configs/mobilenet-v2_digits.py, set for auto_scale_lr.base_batch_size=32

# Writes, as a non-zero rank, every file it opens for writing, renames or removes (and every
# folder it makes) to $MMTL_AUDIT_DIR/rank<R>.txt: Python's audit hooks see them all.
AUDIT_SITECUSTOMIZE = textwrap.dedent(
    """
    import os
    import sys

    if os.environ.get('MMTL_AUDIT_DIR') and os.environ.get('RANK', '0') != '0':
        _record = open(
            os.path.join(os.environ['MMTL_AUDIT_DIR'], 'rank%s.txt' % os.environ['RANK']),
            'a',
            buffering=1,
        )
        _record.write('started\\n')
        _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND

        def _path(value):
            if isinstance(value, (str, bytes, os.PathLike)):
                return os.path.realpath(os.fsdecode(value))
            return None

        def _audit(event, args):
            if event == 'open':
                path, mode, flags = args
                if mode is None:
                    writes = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
                else:
                    writes = any(c in mode for c in 'wax+')
                if writes and _path(path):
                    _record.write('write %s\\n' % _path(path))
            elif event in ('os.rename', 'os.replace', 'os.remove', 'os.rmdir'):
                _record.write('%s %s\\n' % (event, _path(args[0])))
            elif event == 'os.mkdir' and _path(args[0]):
                _record.write('mkdir %s\\n' % _path(args[0]))

        sys.addaudithook(_audit)
    """
)


def dist_env(cwd: str, **extra: str) -> dict:
    """Tool environment with a fresh torchrun port and this interpreter first on PATH."""
    path = os.pathsep.join([osp.dirname(sys.executable), os.environ.get('PATH', '')])
    return tool_env(cwd, PORT=str(free_port()), OMP_NUM_THREADS='1', PATH=path, **extra)


@pytest.fixture(scope='module')
def small_digits(digits_root, tmp_path_factory) -> str:
    """Digits 0-2: the first 16 training images of each, val as val, and val less one image
    when that makes the count odd as test."""
    root = str(tmp_path_factory.mktemp('small_digits'))
    for class_dir in sorted(glob.glob(osp.join(digits_root, 'train', '*'))):
        target = osp.join(root, 'train', osp.basename(class_dir))
        os.makedirs(target)
        for path in sorted(glob.glob(osp.join(class_dir, '*.png')))[:TRAIN_PER_CLASS]:
            shutil.copy(path, target)
    shutil.copytree(osp.join(digits_root, 'val'), osp.join(root, 'val'))
    shutil.copytree(osp.join(digits_root, 'val'), osp.join(root, 'test'))
    test_images = images_of_test_split(root)
    if len(test_images) % 2 == 0:  # odd, so that the distributed sampler must pad rank 1
        os.remove(test_images[-1])
    shutil.copy(osp.join(digits_root, 'classes.txt'), root)
    return root


def images_of_test_split(root: str) -> list:
    return sorted(glob.glob(osp.join(root, 'test', '*', '*.png')))


@pytest.fixture(scope='module')
def config_file(tmp_path_factory) -> str:
    """The digits config for 3 classes, no workers, and predictions dumped at test time."""
    path = tmp_path_factory.mktemp('config') / 'digits3.py'
    base = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    path.write_text(
        textwrap.dedent(
            f"""
            _base_ = [{base!r}]
            model = dict(head=dict(num_classes=3))
            train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
            val_dataloader = dict(num_workers=0, persistent_workers=False)
            test_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False)
            test_evaluator = [
                dict(type='Accuracy', topk=(1,)),
                dict(type='DumpResults', out_file_path='predictions.pkl'),
            ]
            train_cfg = dict(max_epochs=1)
            default_hooks = dict(logger=dict(interval=2))
            """
        )
    )
    return str(path)


def train_args(config: str, data_root: str, work_dir: str, *extra: str) -> list:
    return [config, '--work-dir', work_dir, *extra, '--cfg-options', f'data_root={data_root}']


def files_under(folder: str) -> list:
    return sorted(
        osp.relpath(osp.join(parent, name), folder)
        for parent, _, names in os.walk(folder)
        for name in names
    )


@pytest.fixture(scope='module')
def dist_trained(tmp_path_factory, small_digits, config_file):
    """``tools/dist_train.sh`` with 2 CPU processes for 1 epoch, accumulating 2 iterations."""
    root = tmp_path_factory.mktemp('dist_train')
    (root / 'site').mkdir()
    (root / 'site' / 'sitecustomize.py').write_text(AUDIT_SITECUSTOMIZE)
    audit_dir = root / 'audit'
    audit_dir.mkdir()
    work_dir = str(root / 'wd')
    python_path = os.pathsep.join(filter(None, [str(root / 'site'), os.environ.get('PYTHONPATH')]))
    env = dist_env(str(root), MMTL_AUDIT_DIR=str(audit_dir), PYTHONPATH=python_path)
    args = train_args(config_file, small_digits, work_dir, '--auto-scale-lr', '--accumulate', '2')
    result = run_command(
        ['bash', osp.join(TOOLS, 'dist_train.sh'), args[0], '2', *args[1:]], str(root), env
    )
    assert result.returncode == 0, describe(result)
    audit = {osp.basename(p): open(p).read().splitlines() for p in glob.glob(str(audit_dir / '*'))}
    return SimpleNamespace(
        work_dir=work_dir,
        log=result.stdout + result.stderr,
        files=files_under(work_dir),
        audit=audit,
    )


def test_dist_train_logs_world_size_batch_and_scaled_lr(dist_trained):
    # 2 processes x 4 images x 2 accumulated iterations = 16 against the 32 of the config.
    assert (
        'Batch: world size 2 x 4 per process x 2 accumulation step(s) = effective batch 16; '
        'the lr was set for a batch of 32. Scaling the original LR by 0.5: lr 0.004 -> 0.002.'
    ) in dist_trained.log
    # 48 images shared by 2 processes: 24 each, 6 iterations of 4.
    assert 'Training data: 48 images, 24 per process in each of 2 processes' in dist_trained.log
    assert 'Epoch(train) [1][6/6]' in dist_trained.log
    ckpt = safe_torch_load(osp.join(dist_trained.work_dir, 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 6
    # The schedulers start from the scaled lr; warm-up ends with it after the first epoch.
    for group in ckpt['optimizer']['param_groups']:
        assert group['initial_lr'] == pytest.approx(CONFIG_LR * 0.5)
    scalars = glob.glob(osp.join(dist_trained.work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        train_records = [json.loads(line) for line in f if '"lr"' in line]
    assert [record['iter'] for record in train_records] == [2, 4, 6]
    assert train_records[-1]['lr'] == pytest.approx(CONFIG_LR * 0.5, rel=1e-3)


def test_dist_train_only_rank_zero_writes_into_the_work_dir(dist_trained):
    logs = [name for name in dist_trained.files if name.endswith('.log')]
    assert len(logs) == 1, dist_trained.files
    timestamp = osp.dirname(logs[0])
    events = [name for name in dist_trained.files if 'tfevents' in name]
    assert len(events) == 1, dist_trained.files
    assert set(dist_trained.files) == {
        'epoch_1.pth',
        'best_accuracy_top1_epoch_1.pth',
        'last_checkpoint',
        'digits3.py',
        '.mmtl-train.lock',  # the work-dir lock, held by rank 0 only
        f'{timestamp}/{timestamp}.log',
        f'{timestamp}/lr_groups.json',  # EffectiveLrHook, rank 0 only
        f'{timestamp}/vis_data/{timestamp}.json',
        f'{timestamp}/vis_data/scalars.json',
        f'{timestamp}/vis_data/config.py',
        events[0],
    }
    # Rank 1 ran under the audit hook and wrote no file there; it may make the folders
    # (mmengine creates the work and log dirs on every rank, by design).
    record = dist_trained.audit['rank1.txt']
    assert record[0] == 'started'
    # The hook sees rank 1's writes: its share of the validation results, which mmengine
    # gathers through files in ./.dist_test of the working directory (not the work dir).
    cwd = osp.realpath(osp.dirname(dist_trained.work_dir))
    parts = [line for line in record if line.startswith(f'write {cwd}/.dist_test/')]
    assert parts and all(line.endswith('/part_1.pkl') for line in parts), record
    work_dir = osp.realpath(dist_trained.work_dir)
    in_work_dir = [
        line for line in record[1:] if work_dir in line and not line.startswith('mkdir ')
    ]
    assert in_work_dir == []


def dumped_predictions(path: str) -> dict:
    """Image path -> predicted label, from mmengine's DumpResults (a file this test made)."""
    samples = mmengine.load(path)
    paths = [sample['img_path'] for sample in samples]
    assert len(paths) == len(set(paths)), 'an image was counted twice'
    return {sample['img_path']: int(sample['pred_label']) for sample in samples}


def test_dist_test_counts_every_image_once(tmp_path, dist_trained, small_digits, config_file):
    checkpoint = osp.join(dist_trained.work_dir, 'epoch_1.pth')
    runs = {}
    for name, command in {
        'one': [sys.executable, osp.join(TOOLS, 'test.py')],
        'two': ['bash', osp.join(TOOLS, 'dist_test.sh')],
    }.items():
        out = tmp_path / name
        args = [config_file, checkpoint] + (['2'] if name == 'two' else [])
        args += ['--work-dir', str(out), '--out-metrics', str(out / 'metrics.json')]
        args += ['--cfg-options', f'data_root={small_digits}']
        args += [f'test_evaluator.1.out_file_path={out / "predictions.pkl"}']
        result = run_command(command + args, str(tmp_path), dist_env(str(tmp_path)))
        assert result.returncode == 0, describe(result)
        runs[name] = SimpleNamespace(
            log=result.stdout + result.stderr,
            metrics=mmengine.load(str(out / 'metrics.json'))['metrics'],
            predictions=dumped_predictions(str(out / 'predictions.pkl')),
        )
    images = images_of_test_split(small_digits)
    assert len(images) % 2 == 1  # odd: rank 1 gets one padded repeat
    # Each rank reads ceil(N / 2) images in batches of <= 16; one process reads all N.
    per_rank_batches = math.ceil(math.ceil(len(images) / 2) / 16)
    one_process_batches = math.ceil(len(images) / 16)
    assert f'Epoch(test) [{per_rank_batches}/{per_rank_batches}]' in runs['two'].log
    assert f'Epoch(test) [{one_process_batches}/{one_process_batches}]' in runs['one'].log
    assert sorted(runs['two'].predictions) == images
    assert runs['two'].predictions == runs['one'].predictions
    assert runs['two'].metrics == runs['one'].metrics
    labels = {path: int(osp.basename(osp.dirname(path))) for path in images}
    correct = sum(runs['one'].predictions[path] == label for path, label in labels.items())
    assert runs['two'].metrics['accuracy/top1'] == pytest.approx(100.0 * correct / len(images))


def test_dist_train_resumes_from_its_last_epoch(dist_trained, small_digits, config_file):
    work_dir = dist_trained.work_dir
    flags = ['--resume', '--auto-scale-lr', '--accumulate', '2']
    args = train_args(config_file, small_digits, work_dir, *flags) + ['train_cfg.max_epochs=2']
    cwd = osp.dirname(work_dir)
    result = run_command(
        ['bash', osp.join(TOOLS, 'dist_train.sh'), args[0], '2', *args[1:]], cwd, dist_env(cwd)
    )
    assert result.returncode == 0, describe(result)
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1, iter: 6' in log
    assert 'Epoch(train) [2][6/6]' in log and 'Epoch(train) [1]' not in log
    ckpt = safe_torch_load(osp.join(work_dir, 'epoch_2.pth'))
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 12)
    # The optimizer state of epoch 1 replaced the freshly scaled lr: scaled once, not twice.
    for group in ckpt['optimizer']['param_groups']:
        assert group['initial_lr'] == pytest.approx(CONFIG_LR * 0.5)


class IterationRecorder(mmengine.hooks.Hook):
    """Copies of some parameters after each training iteration, and activation dtypes."""

    def __init__(self, names):
        self.names = names
        self.snapshots = []
        self.dtypes = []

    def _copy(self, runner):
        params = dict(runner.model.named_parameters())
        return {name: params[name].detach().clone() for name in self.names}

    def before_train(self, runner):
        self.snapshots.append(self._copy(runner))
        runner.model.backbone.conv1.conv.register_forward_hook(
            lambda module, inputs, output: self.dtypes.append(output.dtype)
        )

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.snapshots.append(self._copy(runner))


def train_in_process(config: str, data_root: str, work_dir: str, *flags: str):
    """Build the runner of ``tools/train.py`` in this process and train with a recorder."""
    args = train_parser().parse_args(
        train_args(config, data_root, work_dir, '--no-validate', *flags)
    )
    runner = build_runner(prepare_train_config(args))
    recorder = IterationRecorder(['backbone.conv1.conv.weight', 'head.fc.weight'])
    runner.register_hook(recorder)
    runner.train()
    with open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]) as f:
        return runner, recorder, f.read()


def test_accumulation_steps_the_optimizer_every_n_iterations(tmp_path, small_digits, config_file):
    runner, recorder, log = train_in_process(
        config_file,
        small_digits,
        str(tmp_path / 'wd'),
        '--accumulate',
        '3',
        '--auto-scale-lr',
        '--cfg-options',
        'train_dataloader.dataset.indices=24',
    )
    assert isinstance(runner, MMTLRunner)
    assert runner.optim_wrapper._accumulative_counts == 3
    # 1 process x 4 images x 3 iterations = 12 against 32.
    assert (
        'Batch: world size 1 x 4 per process x 3 accumulation step(s) = effective batch 12; '
        'the lr was set for a batch of 32. Scaling the original LR by 0.375: lr 0.004 -> 0.0015.'
    ) in log
    assert runner.optim_wrapper.param_groups[0]['initial_lr'] == pytest.approx(CONFIG_LR * 0.375)
    # 24 images / 4 = 6 iterations: the parameters change after iterations 3 and 6 only.
    snapshots = recorder.snapshots
    assert len(snapshots) == 7
    changed = [
        i
        for i in range(1, 7)
        if any(not torch.equal(snapshots[i][k], snapshots[i - 1][k]) for k in snapshots[i])
    ]
    assert changed == [3, 6]


def test_amp_on_cpu_trains_in_bfloat16(tmp_path, small_digits, config_file):
    runner, recorder, log = train_in_process(
        config_file,
        small_digits,
        str(tmp_path / 'wd'),
        '--amp',
        'bf16',
        '--cfg-options',
        'train_dataloader.dataset.indices=8',
        # The summary hook's own fp32 analysis forward would be recorded too.
        'default_hooks.model_summary=None',
    )
    assert type(runner.optim_wrapper) is BF16AutocastOptimWrapper
    # Two training iterations, each with a bf16 forward; parameters stay float32 and move.
    assert recorder.dtypes == [torch.bfloat16, torch.bfloat16]
    first, last = recorder.snapshots[0], recorder.snapshots[-1]
    for name, value in last.items():
        assert value.dtype == torch.float32
        assert not torch.equal(value, first[name]), name
    assert (
        'Batch: world size 1 x 4 per process x 1 accumulation step(s) = effective batch 4. '
        'lr 0.004 (not scaled: auto_scale_lr is off).'
    ) in log


def parse_train(config: str, *flags: str):
    return train_parser().parse_args([config, *flags])


def test_amp_fp16_on_cpu_is_refused_pointing_to_bf16(config_file):
    with pytest.raises(ConfigError, match='--amp fp16.*needs a CUDA GPU.*--amp bf16'):
        prepare_train_config(parse_train(config_file, '--amp', 'fp16'))


def test_amp_config_with_cuda_wrapper_on_cpu_is_refused(config_file):
    args = parse_train(config_file, '--cfg-options', 'optim_wrapper.type=AmpOptimWrapper')
    with pytest.raises(ConfigError, match="optim_wrapper.type='AmpOptimWrapper' needs a CUDA"):
        prepare_train_config(args)


@pytest.mark.parametrize(
    'flag,dtype',
    [(['--amp'], 'bfloat16'), (['--amp', 'fp16'], 'float16'), (['--amp', 'bf16'], 'bfloat16')],
)
def test_amp_on_cuda_uses_mmengine_amp_wrapper(config_file, monkeypatch, flag, dtype):
    import mmtl.apis.runner_setup as runner_module

    monkeypatch.setattr(runner_module, 'uses_cuda', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: True)
    cfg = prepare_train_config(parse_train(config_file, *flag))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == dtype
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.lr == CONFIG_LR


def test_accumulate_sets_accumulative_counts_and_rejects_zero(config_file, capsys):
    cfg = prepare_train_config(parse_train(config_file, '--accumulate', '4'))
    assert cfg.optim_wrapper.accumulative_counts == 4
    with pytest.raises(SystemExit):
        parse_train(config_file, '--accumulate', '0')
    assert "expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_sync_bn_on_cpu_processes_is_refused_before_any_work(config_file, monkeypatch):
    import torch.distributed as torch_dist

    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '2')
    args = parse_train(config_file, '--sync-bn', '--launcher', 'pytorch')
    with pytest.raises(ConfigError, match='--sync-bn.*only on GPUs.*drop --sync-bn'):
        prepare_train_config(args)
    assert not torch_dist.is_initialized()


def test_sync_bn_with_one_process_is_set(config_file):
    cfg = prepare_train_config(parse_train(config_file, '--sync-bn'))
    assert cfg.sync_bn == 'torch'  # one process: mmengine turns it back into BatchNorm


def test_sync_bn_on_gpu_processes_is_set(config_file, monkeypatch):
    import mmtl.apis.runner_setup as runner_module
    import mmtl.utils.dist as dist_module

    monkeypatch.setattr(runner_module, 'uses_cuda', lambda: True)
    monkeypatch.setattr(dist_module, 'uses_cuda', lambda: True)
    cfg = prepare_train_config(parse_train(config_file, '--sync-bn', '--launcher', 'pytorch'))
    assert cfg.sync_bn == 'torch'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'  # GPUs: mmengine's defaults, untouched


def test_slurm_launcher_on_cpu_is_refused_naming_the_cpu_way(config_file):
    args = parse_train(config_file, '--launcher', 'slurm')
    with pytest.raises(ConfigError, match="launcher 'slurm' on a machine without CUDA.*dist_train"):
        prepare_train_config(args)


def test_torch_sync_batchnorm_really_refuses_cpu_tensors(tmp_path):
    """The premise of the --sync-bn error: torch's SyncBatchNorm needs GPU tensors."""
    code = textwrap.dedent(
        f"""
        import torch, torch.distributed as dist
        dist.init_process_group('gloo', init_method='tcp://127.0.0.1:{free_port()}',
                                rank=0, world_size=1)
        torch.nn.SyncBatchNorm(3)(torch.randn(2, 3, 4, 4))
        """
    )
    result = run_command([sys.executable, '-c', code], str(tmp_path))
    assert result.returncode != 0
    assert 'SyncBatchNorm expected input tensor to be on GPU' in result.stderr
