"""Precision on the CPU: float32 vs bfloat16 autocast, speed and accuracy, in one run.

Speed (always): one training step (``model.train_step`` through mmtl's
``BF16AutocastOptimWrapper`` or mmengine's plain ``OptimWrapper``, SGD) and one inference
forward (``mode='tensor'``, no grad, with and without ``torch.autocast('cpu', bfloat16)``) of
the same MobileNet-v2 (mmtl's base model config) on the same in-memory batch, interleaved
step by step; median wall-clock and CPU seconds per step, and the bf16 / fp32 speed-up.

Accuracy (``--accuracy``; minutes): the digits demo config trained from scratch with and
without bf16 (test top-1 of each model in fp32 and in bf16 inference), and a fine-tune from a
pretrained checkpoint this run makes (experiments.fewshot: pretrain on digits 0-4 in fp32,
full fine-tune on k images per class of digits 5-9, fp32 vs bf16, same seeds).

Run: ``python benchmarks/bench_precision.py [--quick | --tiny] [--accuracy]``.
"""

import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext

import common  # noqa: I001  (puts the repository on sys.path)
import torch

SIZES = {
    'tiny': dict(arch='mobilenet_v2_1x', batch=2, image=32, rounds=2, warmup=1),
    'quick': dict(arch='mobilenet_v2_1x', batch=32, image=224, rounds=4, warmup=1),
    'full': dict(arch='mobilenet_v2_1x', batch=32, image=224, rounds=8, warmup=2),
}
ACCURACY = {
    'tiny': dict(epochs=1, pretrain_epochs=1, shots=(2,), seeds=(0,), steps=4),
    'quick': dict(epochs=12, pretrain_epochs=12, shots=(5, 10), seeds=(0, 1), steps=100),
    'full': dict(epochs=30, pretrain_epochs=30, shots=(5, 10), seeds=(0, 1, 2), steps=200),
}
DIGITS_CONFIG = osp.join(common.REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def build_classifier(arch: str, classes: int = 10):
    """An mmpretrain ``ImageClassifier`` from mmtl's base model config ``arch``."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmtl  # noqa: F401  (registers mmtl's modules)
    from mmtl.registry import MODELS

    cfg = Config.fromfile(osp.join(common.REPO_ROOT, 'configs', '_base_', 'models', f'{arch}.py'))
    cfg.model.head.num_classes = classes
    cfg.model.head.topk = (1,)
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg.model)


def make_batch(batch: int, image: int, classes: int = 10) -> dict:
    """A seeded uint8 batch in the form ``train_step`` takes."""
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (batch, 3, image, image), generator=gen).to(torch.uint8)
    labels = torch.randint(0, classes, (batch,), generator=gen)
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return dict(inputs=list(inputs), data_samples=samples)


def _timed(step) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_speed(size: dict) -> dict:
    """Median seconds per training step and per inference batch, fp32 vs bf16, interleaved."""
    from mmengine.optim import OptimWrapper

    from mmtl.engine.optim_wrappers import BF16AutocastOptimWrapper

    batch = make_batch(size['batch'], size['image'])
    models, steps = {}, {}
    for precision in ('fp32', 'bf16'):
        torch.manual_seed(0)
        model = build_classifier(size['arch'])
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        wrapper = (
            OptimWrapper(optimizer)
            if precision == 'fp32'
            else BF16AutocastOptimWrapper(optimizer=optimizer)
        )
        models[precision] = model
        steps[f'train_{precision}'] = lambda m=model, w=wrapper: m.train_step(batch, w)
    with torch.no_grad():
        eval_inputs = models['fp32'].data_preprocessor(batch)['inputs']

    def infer(model, autocast: bool):
        ctx = torch.autocast('cpu', torch.bfloat16) if autocast else nullcontext()
        with torch.no_grad(), ctx:
            return model(eval_inputs, mode='tensor')

    eval_model = build_classifier(size['arch']).eval()
    steps['infer_fp32'] = lambda: infer(eval_model, False)
    steps['infer_bf16'] = lambda: infer(eval_model, True)
    times = {name: [] for name in steps}
    for r in range(size['warmup'] + size['rounds']):
        for name, step in steps.items():
            wall, cpu = _timed(step)
            if r >= size['warmup']:
                times[name].append((wall, cpu))
    result = {}
    for name, values in times.items():
        result[name] = dict(
            wall_s=statistics.median(v[0] for v in values),
            cpu_s=statistics.median(v[1] for v in values),
        )
    for kind in ('train', 'infer'):
        result[f'{kind}_speedup_wall'] = common.ratio(
            result[f'{kind}_fp32']['wall_s'], result[f'{kind}_bf16']['wall_s']
        )
        result[f'{kind}_speedup_cpu'] = common.ratio(
            result[f'{kind}_fp32']['cpu_s'], result[f'{kind}_bf16']['cpu_s']
        )
    return result


# --------------------------------------------------------------------------------------
# Accuracy: the digits demo and a fine-tune from a pretrained checkpoint, fp32 vs bf16.
# --------------------------------------------------------------------------------------
def write_bf16_config(folder: str) -> str:
    """A config file: the digits config with mmtl's bf16 autocast optimizer wrapper."""
    path = osp.join(folder, 'mobilenet-v2_digits_bf16.py')
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{DIGITS_CONFIG!r}]\n'
            "optim_wrapper = dict(type='BF16AutocastOptimWrapper', device_type='cpu')\n"
        )
    return path


def train_digits(config: str, data_root: str, work_dir: str, epochs: int) -> dict:
    """Train the digits config; test top-1 of the best checkpoint in fp32 and in bf16."""
    from experiments.fewshot import _run_config, _train_and_load_best

    cfg = _run_config(
        config, data_root, work_dir, 10, osp.basename(work_dir), train_cfg=dict(max_epochs=epochs)
    )
    wall, cpu = time.perf_counter(), time.process_time()
    runner = _train_and_load_best(cfg)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    top1_fp32 = float(runner.test()['accuracy/top1'])
    runner.test_loop.fp16 = True  # mmengine's autocast: bfloat16 on the CPU
    top1_bf16 = float(runner.test()['accuracy/top1'])
    return dict(
        train_wall_s=wall, train_cpu_s=cpu, test_top1_fp32=top1_fp32, test_top1_bf16=top1_bf16
    )


def measure_accuracy(acc: dict, work_dir: str) -> dict:
    """Digits demo and few-shot fine-tune, fp32 vs bf16 training."""
    from experiments.fewshot import (
        SOURCE_DIGITS,
        TARGET_DIGITS,
        finetune_and_test,
        make_kshot_folder,
        pretrain_source_model,
    )

    from mmtl.datasets.digits import write_digits_folder

    configs = {'fp32': DIGITS_CONFIG, 'bf16': write_bf16_config(work_dir)}
    digits = osp.join(work_dir, 'digits')
    write_digits_folder(digits, seed=0)
    result = {'digits_epochs': acc['epochs'], 'digits': {}}
    for precision, config in configs.items():
        run = train_digits(config, digits, osp.join(work_dir, f'digits_{precision}'), acc['epochs'])
        result['digits'][precision] = run
        print(f'digits {precision}: {run}', flush=True)
    source, target = osp.join(work_dir, 'src'), osp.join(work_dir, 'tgt')
    write_digits_folder(source, seed=0, keep=SOURCE_DIGITS)
    write_digits_folder(target, seed=0, keep=TARGET_DIGITS)
    pretrained = pretrain_source_model(
        DIGITS_CONFIG, source, osp.join(work_dir, 'pretrain'), acc['pretrain_epochs']
    )
    finetune = []
    for k in acc['shots']:
        for seed in acc['seeds']:
            root = osp.join(work_dir, f'tgt_{k}shot_{seed}')
            images = make_kshot_folder(target, root, k, seed)
            for precision, config in configs.items():
                name = f'ft_{precision}_{k}_{seed}'
                top1 = finetune_and_test(
                    config,
                    root,
                    osp.join(work_dir, name),
                    'full-ft',
                    pretrained,
                    images,
                    acc['steps'],
                    name,
                )
                finetune.append(dict(precision=precision, shots=k, seed=seed, top1=top1))
                print(f'fine-tune {name}: {top1:.2f}', flush=True)
    result['finetune'] = finetune
    result['finetune_setup'] = dict(
        pretrain_epochs=acc['pretrain_epochs'], steps=acc['steps'], strategy='full-ft'
    )
    return result


def _mean_std(values) -> str:
    values = list(values)
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def tables(speed: dict, accuracy: dict) -> str:
    """Markdown tables of the figures."""
    rows = []
    for kind in ('train', 'infer'):
        fp32, bf16 = speed[f'{kind}_fp32'], speed[f'{kind}_bf16']
        rows.append(
            [
                kind,
                fp32['wall_s'],
                bf16['wall_s'],
                speed[f'{kind}_speedup_wall'],
                fp32['cpu_s'],
                bf16['cpu_s'],
                speed[f'{kind}_speedup_cpu'],
            ]
        )
    text = common.format_table(
        [
            'step',
            'fp32 s',
            'bf16 s',
            'bf16 speed-up',
            'fp32 CPU s',
            'bf16 CPU s',
            'bf16 speed-up (CPU s)',
        ],
        rows,
    )
    if accuracy:
        rows = []
        for precision, run in accuracy['digits'].items():
            rows.append(
                [
                    f'digits, {accuracy["digits_epochs"]} epochs, train {precision}',
                    run['test_top1_fp32'],
                    run['test_top1_bf16'],
                    run['train_wall_s'],
                ]
            )
        text += '\n\n' + common.format_table(
            ['run', 'test top-1 (fp32 inference)', 'test top-1 (bf16 inference)', 'train s'],
            rows,
        )
        rows = []
        for precision in ('fp32', 'bf16'):
            row = [f'full-ft, train {precision}']
            for k in sorted({r['shots'] for r in accuracy['finetune']}):
                row.append(
                    _mean_std(
                        r['top1']
                        for r in accuracy['finetune']
                        if r['precision'] == precision and r['shots'] == k
                    )
                )
            rows.append(row)
        shots = sorted({r['shots'] for r in accuracy['finetune']})
        text += '\n\n' + common.format_table(['fine-tune 5-9'] + [f'k = {k}' for k in shots], rows)
    return text


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    with_accuracy = '--accuracy' in argv
    if with_accuracy:
        argv.remove('--accuracy')
    args = common.parse_args('precision', __doc__.splitlines()[0], argv)
    from mmtl.utils.precision import cpu_bf16_features

    speed = measure_speed(SIZES[args.size])
    accuracy = {}
    if with_accuracy:
        with tempfile.TemporaryDirectory() as work_dir:
            accuracy = measure_accuracy(ACCURACY[args.size], work_dir)
    result = dict(
        size=args.size, native_bf16=bool(cpu_bf16_features()), speed=speed, accuracy=accuracy
    )
    common.write_result(args.out, 'precision', result, tables(speed, accuracy))
    return result


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
