"""README command 1: transfer learning on the embedded digits, end to end, through ``mim``.

Pretrain the digits MobileNet-v2 on digits 0-4 and publish its backbone (the "ImageNet" of the
demo); then, for several draws of ``k`` training images per class of digits 5-9, fine-tune the
backbone with a new head and train the same network from scratch, each a ``mim train mmtl`` /
``mim test mmtl`` of a config written to ``<work_dir>/configs/``; classify one test image; print
the gain as mean ± std over the draws, each draw's McNemar p and a paired test over all their
test images. One line per step on the terminal; every command's output in ``<work_dir>/logs/``.
"""

import functools
import json
import os
import os.path as osp
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmtl.datasets.digits import write_digits_folder
from mmtl.evaluation.statistics import Comparison, mcnemar
from mmtl.utils.checkpoint import safe_torch_load
from mmtl.utils.fileio import atomic_open

from .docs_block import check_block, write_block
from .fewshot import (
    SOURCE_DIGITS,
    STRATEGIES,
    TARGET_DIGITS,
    compare_pooled,
    fewshot_batching,
    make_kshot_folder,
    read_correct,
    warmup_cosine_schedule,
)

#: The best strategy of the few-shot table at the demo's images per class (docs/fewshot.md):
#: full fine-tuning with the backbone at the head's lr.
DEFAULT_STRATEGY = 'full-ft-1x'
BASE_CONFIG = 'mobilenet-v2_digits.py'
#: The repository (README.md and docs/ for ``--docs``).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@dataclass
class DemoSettings:
    """How big the demo is.

    Args:
        shots (int): Training images per class of the new task (digits 5-9).
        pretrain_epochs (int): Epochs on digits 0-4.
        steps (int): Optimisation steps of each fine-tuning run (transfer and scratch).
        seeds (Sequence[int]): Seeds of the k-shot draws; each draw is one transfer run and
            one scratch run, and the gain is reported as mean and std over the draws.
        strategy (str): A key of :data:`STRATEGIES` for the transfer run.
        parallel (int): Runs on digits 5-9 trained at the same time (each one process with one
            thread; the results do not depend on it).
    """

    shots: int = 5
    pretrain_epochs: int = 30
    steps: int = 100
    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    strategy: str = DEFAULT_STRATEGY
    parallel: int = 2


#: A small run for tests: the same steps, minutes become seconds.
TINY = DemoSettings(shots=1, pretrain_epochs=1, steps=4, seeds=(0, 1))


def _repo_config(name: str) -> str:
    """Path of one of mmtl's configs (``configs/`` of the source tree or the installed .mim)."""
    import mmtl

    package = osp.dirname(osp.abspath(mmtl.__file__))
    for root in (osp.join(osp.dirname(package), 'configs'), osp.join(package, '.mim', 'configs')):
        if osp.isfile(osp.join(root, name)):
            return osp.join(root, name)
    raise FileNotFoundError(f'mmtl config {name} not found next to {package}')


def publish_backbone(checkpoint: str, out: str) -> int:
    """Write the backbone of a training checkpoint as pretrained weights (no head, no optimizer).

    Args:
        checkpoint (str): A checkpoint written by ``mim train`` (loaded safely).
        out (str): The file to write.

    Returns:
        int: Number of tensors written.
    """
    state = safe_torch_load(checkpoint)['state_dict']
    backbone = {k: v for k, v in state.items() if k.startswith('backbone.')}
    with atomic_open(out) as f:
        torch.save({'state_dict': backbone, 'meta': {'source_digits': list(SOURCE_DIGITS)}}, f)
    return len(backbone)


def fewshot_config(
    data_root: str, train_images: int, steps: int, strategy: str, pretrained: Optional[str]
) -> Config:
    """The digits config for one few-shot run on digits 5-9.

    Args:
        data_root (str): The few-shot folder.
        train_images (int): Its number of training images (sets batch size and epochs).
        steps (int): Optimisation steps.
        strategy (str): A key of :data:`STRATEGIES` (``'scratch'`` ignores ``pretrained``).
        pretrained (str, optional): The pretrained backbone checkpoint.

    Returns:
        Config: The config, ready to be dumped and trained with ``mim train mmtl``.
    """
    cfg = Config.fromfile(_repo_config(BASE_CONFIG))
    batch_size, epochs = fewshot_batching(train_images, steps)  # incomplete batches dropped
    cfg.data_root = data_root
    cfg.model.head.num_classes = len(TARGET_DIGITS)  # a new head: 5 new classes
    cfg.train_dataloader.batch_size = batch_size
    # An epoch is one or two batches of a few tiny images: worker processes would cost more
    # than they save.
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
    # A last batch of 1-2 images wrecks BatchNorm's running statistics: drop it.
    cfg.train_dataloader.drop_last = True
    cfg.train_cfg.max_epochs = epochs
    # Warm-up and cosine counted in iterations, as in the few-shot experiment.
    cfg.param_scheduler = warmup_cosine_schedule(steps)
    # Validate 10 times, keep only the best checkpoint, no early stop.
    interval = max(1, epochs // 10)
    cfg.train_cfg.val_interval = interval
    cfg.default_hooks.early_stopping = None
    cfg.default_hooks.checkpoint.update(interval=interval, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 1000
    STRATEGIES[strategy](cfg, pretrained)
    return cfg


#: An epoch number in mmengine's log lines (``Epoch(train) [12][...]``, ``Epoch(val) [12][...]``).
EPOCH_IN_LOG = re.compile(r'Epoch\((?:train|val)\)\s*\[(\d+)\]')


class StepPrinter:
    """One line per finished step on the terminal, and a status line while steps run.

    Steps may run in several threads at once (each waiting for its own ``mim`` process); their
    lines are numbered in the order they finish.

    Args:
        total (int): Number of steps.
        stream: Where the lines go. Defaults to ``sys.stdout``.
        bar (bool, optional): Redraw a status line with a progress bar per running step.
            Defaults to whether ``stream`` is a terminal.
    """

    def __init__(self, total: int, stream=None, bar: Optional[bool] = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stdout
        self.bar = self.stream.isatty() if bar is None else bar
        self._lock = threading.Lock()
        self._running: Dict[str, float] = {}  # label -> fraction done

    def line(self, text: str) -> None:
        """Print a line (a heading, a finished step, the summary)."""
        with self._lock:
            self._print(text)

    def _print(self, text: str) -> None:
        clear = '\r\033[K' if self.bar else ''
        print(clear + text, file=self.stream, flush=True)
        self._draw()

    def _draw(self) -> None:
        if not self.bar or not self._running:
            return
        bars = []
        for label, fraction in self._running.items():
            filled = int(10 * min(max(fraction, 0.0), 1.0))
            bars.append(f'{label} [{"#" * filled}{"." * (10 - filled)}]')
        status = f'[demo] {self.done}/{self.total} done; ' + ', '.join(bars)
        print('\r\033[K' + status, end='', file=self.stream, flush=True)

    def progress(self, label: str, fraction: float) -> None:
        """Set how far the running step ``label`` is (0-1)."""
        with self._lock:
            self._running[label] = fraction
            self._draw()

    def step(self, label: str, work: Callable[[Callable[[float], None]], str]) -> str:
        """Run one step and print its line: ``[demo] i/n label: result (seconds)``.

        Args:
            label (str): What the step does.
            work (Callable): Does the step; called with a ``progress(fraction)`` callback,
                returns the result text.

        Returns:
            str: The result text.
        """
        start = time.monotonic()
        self.progress(label, 0.0)
        try:
            result = work(functools.partial(self.progress, label))
        finally:
            with self._lock:
                self._running.pop(label, None)
        with self._lock:
            self.done += 1
            seconds = time.monotonic() - start
            self._print(f'[demo] {self.done}/{self.total} {label}: {result} ({seconds:.0f} s)')
        return result


def run_logged(
    cmd: List[str],
    log_file: str,
    progress: Optional[Callable[[float], None]] = None,
    epochs: int = 0,
) -> None:
    """Run ``cmd`` with its whole output in ``log_file``.

    Args:
        cmd (list): The command line (written at the top of the log).
        log_file (str): Gets the command line and everything it prints.
        progress (Callable, optional): Called twice a second with the fraction of ``epochs``
            the log shows done.
        epochs (int): Epochs the command trains (0: none).

    Raises:
        RuntimeError: The command failed: the message names it, the log and its last lines.
    """
    with open(log_file, 'w', encoding='utf-8') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            if progress and epochs:
                progress(_epochs_logged(log_file) / epochs)
            time.sleep(0.5)
    if proc.returncode:
        with open(log_file, encoding='utf-8', errors='replace') as f:
            tail = ''.join(f.readlines()[-15:])
        raise RuntimeError(
            f'{" ".join(cmd)} failed (exit {proc.returncode}); '
            f'its output: {log_file}, ending with:\n{tail}'
        )


def _epochs_logged(log_file: str) -> int:
    """The highest epoch number in an mmengine log so far."""
    with open(log_file, encoding='utf-8', errors='replace') as f:
        return max((int(n) for n in EPOCH_IN_LOG.findall(f.read())), default=0)


def _best_checkpoint(work_dir: str) -> str:
    best = sorted(f for f in os.listdir(work_dir) if f.startswith('best_') and f.endswith('.pth'))
    if not best:
        raise FileNotFoundError(f'no best_*.pth in {work_dir}')
    return osp.join(work_dir, best[-1])


def _train_and_test(
    config: str,
    work_dir: str,
    log_name: str,
    epochs: int,
    plots: bool,
    progress: Optional[Callable[[float], None]] = None,
) -> Tuple[float, List[bool]]:
    """``mim train mmtl`` then ``mim test mmtl`` on the best checkpoint.

    Their output goes to ``<log_name>.log`` and ``<log_name>_test.log``; the test writes every
    image's prediction to ``<work_dir>/predictions.json``.

    Returns:
        tuple: Test top-1 (%) and, per test image in path order, whether it was right.
    """
    if osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    train = ['mim', 'train', 'mmtl', config, '--work-dir', work_dir]
    run_logged(train, log_name + '.log', progress, epochs)
    best = _best_checkpoint(work_dir)
    predictions = osp.join(work_dir, 'predictions.json')
    test = ['mim', 'test', 'mmtl', config, '--checkpoint', best, '--work-dir', work_dir]
    test += ['--out', predictions] + (['--plots'] if plots else [])
    run_logged(test, log_name + '_test.log')
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        top1 = float(json.load(f)['metrics']['accuracy/top1'])
    return top1, read_correct(predictions)


def classify_one(config: str, checkpoint: str, image: str, out_png: str) -> dict:
    """Classify ``image`` with the fine-tuned model and draw the result to ``out_png``."""
    from mmtl.apis import inference_model, init_model, show_result_pyplot

    model = init_model(config, checkpoint, device='cpu')
    result = inference_model(model, image)
    show_result_pyplot(model, image, result, out_file=out_png, topk=3)
    return result


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_lines(
    runs: List[dict],
    pretrain_top1: float,
    settings: DemoSettings,
    paired: Optional[Comparison] = None,
) -> List[str]:
    """The demo's closing lines: the per-seed table, the means and the gain with its spread.

    Args:
        runs (list): One dict per seed: ``seed``, the strategy's and ``scratch``'s test top-1,
            ``gain`` and (optional) ``p_value``, McNemar's on that seed's test images.
        pretrain_top1 (float): Test top-1 on the source task.
        settings (DemoSettings): The demo's settings (strategy, shots).
        paired (Comparison, optional): Scratch against the strategy on every seed's test
            images pooled (:func:`experiments.fewshot.compare_pooled`).

    Returns:
        list[str]: The lines, as printed.
    """
    n = len(runs)
    transfer_mean, transfer_std = mean_std(r[settings.strategy] for r in runs)
    scratch_mean, scratch_std = mean_std(r['scratch'] for r in runs)
    gain_mean, gain_std = mean_std(r['gain'] for r in runs)
    rows = [('seed', 'seed', '{:>7d}'), (settings.strategy, settings.strategy, '{:7.2f}')]
    rows += [('scratch', 'scratch', '{:7.2f}'), ('gain', 'gain', '{:+7.2f}')]
    if all('p_value' in r for r in runs):
        rows.append(('McNemar p', 'p_value', '{:7.1g}'))
    lines = [
        f'[demo] {label:<10s} ' + ' '.join(fmt.format(r[key]) for r in runs)
        for label, key, fmt in rows
    ]
    source, target = (f'{d[0]}-{d[-1]}' for d in (SOURCE_DIGITS, TARGET_DIGITS))
    lines.append(f'[demo] source task (digits {source}) test top-1: {pretrain_top1:.2f} %')
    lines.append(
        f'[demo] digits {target}, {settings.shots} image(s) per class, over {n} seeds: '
        f'{settings.strategy} {transfer_mean:.1f} ± {transfer_std:.1f} % vs scratch '
        f'{scratch_mean:.1f} ± {scratch_std:.1f} %'
    )
    lines.append(
        f'[demo] transfer gain over training from scratch: {gain_mean:+.1f} ± {gain_std:.1f} '
        f'points (mean ± std over {n} seeds)'
    )
    ahead = sum(r['gain'] > 0 for r in runs)
    lines.append(f'[demo] ahead of scratch on {ahead} of {n} seeds')
    if paired is not None:
        lines.append(
            f"[demo] paired over the {n} seeds' test images: "
            + paired.verdict('scratch', settings.strategy)
        )
    return lines


def run_transfer_demo(
    work_dir: str,
    settings: Optional[DemoSettings] = None,
    stream=None,
) -> Dict[str, object]:
    """Pretrain on digits 0-4, fine-tune on few images of 5-9 for several draws, vs scratch.

    Args:
        work_dir (str): Where data, configs, runs, logs and results go.
        settings (DemoSettings, optional): Sizes of the runs. Defaults to ``DemoSettings()``.
        stream (optional): Where the step lines go. Defaults to ``sys.stdout``.

    Returns:
        dict: Test top-1 of every run, the gains and their mean and std, timings, the
        classified image and its PNG (also written to ``<work_dir>/transfer_summary.json``).
    """
    settings = settings or DemoSettings()
    if settings.strategy not in STRATEGIES or settings.strategy == 'scratch':
        choices = sorted(set(STRATEGIES) - {'scratch'})
        raise ValueError(f'strategy {settings.strategy!r}: choose one of {choices}')
    if not settings.seeds or len(set(settings.seeds)) != len(settings.seeds):
        raise ValueError(f'seeds {list(settings.seeds)}: give one or more different seeds')
    start, cpu_start = time.monotonic(), cpu_seconds()
    printer = StepPrinter(2 + 2 * len(settings.seeds), stream)
    data = osp.join(work_dir, 'data')
    configs, logs = osp.join(work_dir, 'configs'), osp.join(work_dir, 'logs')
    source, target = osp.join(data, 'digits_0-4'), osp.join(data, 'digits_5-9')
    if osp.isdir(data):
        shutil.rmtree(data)
    for path in (configs, logs):
        os.makedirs(path, exist_ok=True)
    write_digits_folder(source, seed=0, keep=SOURCE_DIGITS)
    write_digits_folder(target, seed=0, keep=TARGET_DIGITS)
    digits = [f'{d[0]}-{d[-1]}' for d in (SOURCE_DIGITS, TARGET_DIGITS)]
    printer.line(
        f'[demo] digits {digits[0]} are the "ImageNet" of the demo; the new task: digits '
        f'{digits[1]}, {settings.shots} training image(s) per class, {len(settings.seeds)} draws'
    )
    printer.line(f"[demo] every command's whole output goes to {logs}/")

    pretrain_cfg = Config.fromfile(_repo_config(BASE_CONFIG))
    pretrain_cfg.data_root = source
    pretrain_cfg.model.head.num_classes = len(SOURCE_DIGITS)
    pretrain_cfg.train_cfg.max_epochs = settings.pretrain_epochs
    pretrain_config = osp.join(configs, 'pretrain_digits_0-4.py')
    pretrain_cfg.dump(pretrain_config)
    pretrained = osp.join(work_dir, 'pretrained_digits_0-4_backbone.pth')
    scores: Dict[str, Tuple[float, List[bool]]] = {}

    def pretrain(progress: Callable[[float], None]) -> str:
        scores['pretrain'] = _train_and_test(
            pretrain_config,
            osp.join(work_dir, 'pretrain'),
            osp.join(logs, 'pretrain'),
            settings.pretrain_epochs,
            False,
            progress,
        )
        tensors = publish_backbone(_best_checkpoint(osp.join(work_dir, 'pretrain')), pretrained)
        return f'test top-1 {scores["pretrain"][0]:.2f} %, backbone published ({tensors} tensors)'

    # The runs on digits 5-9: every seed's draw, fine-tuned and from scratch.
    jobs = []
    for seed in settings.seeds:
        name = f'digits_5-9_{settings.shots}shot_seed{seed}'
        fewshot_root = osp.join(data, name)
        train_images = make_kshot_folder(target, fewshot_root, settings.shots, seed)
        for strategy in (settings.strategy, 'scratch'):
            cfg = fewshot_config(fewshot_root, train_images, settings.steps, strategy, pretrained)
            config = osp.join(configs, f'{name}_{strategy}.py')
            cfg.dump(config)
            jobs.append((seed, strategy, config, cfg.train_cfg.max_epochs))

    def finetune(seed: int, strategy: str, config: str, epochs: int) -> None:
        if strategy != 'scratch':
            pretrained_ready.result()  # raises the pretraining's error

        def work(progress: Callable[[float], None]) -> str:
            scores[f'{strategy}_seed{seed}'] = _train_and_test(
                config,
                osp.join(work_dir, f'{strategy}_seed{seed}'),
                osp.join(logs, f'{strategy}_seed{seed}'),
                epochs,
                strategy != 'scratch' and seed == settings.seeds[0],  # plots
                progress,
            )
            return f'test top-1 {scores[f"{strategy}_seed{seed}"][0]:6.2f} %'

        what = 'fine-tune' if strategy != 'scratch' else 'scratch  '
        printer.step(f'seed {seed} {what} ({strategy}, {settings.steps} steps)', work)

    # The scratch runs need no pretrained backbone: they train while the pretraining runs, and
    # the fine-tuning runs queue behind them (the first worker to take one waits for the
    # backbone). With one worker the queue's order alone keeps the pretraining first.
    jobs.sort(key=lambda job: job[1] != 'scratch')
    with ThreadPoolExecutor(max_workers=max(1, settings.parallel)) as pool:
        pretrained_ready = pool.submit(printer.step, 'pretrain on digits 0-4', pretrain)
        futures = [pretrained_ready] + [pool.submit(finetune, *job) for job in jobs]
        try:
            for future in futures:
                future.result()
        except BaseException:  # a failed run stops the demo with its error
            for future in futures:
                future.cancel()
            raise
    pretrain_top1 = scores['pretrain'][0]
    runs, correct = [], {settings.strategy: [], 'scratch': []}
    for seed in settings.seeds:
        run = {'seed': seed, 'train_images': settings.shots * len(TARGET_DIGITS)}
        for strategy in (settings.strategy, 'scratch'):
            run[strategy], right = scores[f'{strategy}_seed{seed}']
            correct[strategy].append(right)
        transfer, scratch = (correct[key][-1] for key in (settings.strategy, 'scratch'))
        only_transfer = sum(t and not s for t, s in zip(transfer, scratch))
        only_scratch = sum(s and not t for t, s in zip(transfer, scratch))
        run['gain'] = run[settings.strategy] - run['scratch']
        run['p_value'] = mcnemar(only_scratch, only_transfer).p_value
        runs.append(run)
    paired = compare_pooled(correct['scratch'], correct[settings.strategy])
    first = settings.seeds[0]
    configs_used = {strategy: config for seed, strategy, config, _ in jobs if seed == first}
    image_dir = osp.join(target, 'test', '7')
    image = osp.join(image_dir, sorted(os.listdir(image_dir))[0])
    png = osp.join(work_dir, 'prediction.png')
    prediction: dict = {}

    def classify(progress: Callable[[float], None]) -> str:
        checkpoint = _best_checkpoint(osp.join(work_dir, f'{settings.strategy}_seed{first}'))
        prediction.update(classify_one(configs_used[settings.strategy], checkpoint, image, png))
        return (
            f'{osp.relpath(image, work_dir)} -> {prediction["pred_class"]} '
            f'(score {prediction["pred_score"]:.3f}), drawn in {png}'
        )

    printer.step(f'classify one test image with the seed {first} model', classify)

    transfer_mean, transfer_std = mean_std(r[settings.strategy] for r in runs)
    scratch_mean, scratch_std = mean_std(r['scratch'] for r in runs)
    gain_mean, gain_std = mean_std(r['gain'] for r in runs)
    summary_file = osp.join(work_dir, 'transfer_summary.json')
    lines = summary_lines(runs, pretrain_top1, settings, paired)
    wall, cpu = time.monotonic() - start, cpu_seconds() - cpu_start
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    lines.append(
        f'[demo] whole demo {wall:.0f} s, {cpu:.0f} CPU-s ({os.cpu_count()} CPUs, load average '
        f'{load:.1f}); summary: {summary_file}'
    )
    summary = {
        'settings': asdict(settings),
        'runs': runs,
        'pretrain_test_top1': pretrain_top1,
        'transfer_test_top1': [transfer_mean, transfer_std],
        'scratch_test_top1': [scratch_mean, scratch_std],
        'gain': [gain_mean, gain_std],
        'gains_above_zero': sum(r['gain'] > 0 for r in runs),
        'paired': paired.to_dict(),
        'total_seconds': round(wall, 1),
        'cpu_seconds': round(cpu, 1),
        'image': image,
        'prediction': prediction['pred_class'],
        'score': float(prediction['pred_score']),
        'png': png,
        'configs': configs_used,
        'logs': logs,
        'lines': lines,
    }
    with atomic_open(summary_file, 'w') as f:
        json.dump(summary, f, indent=2)
    for line in lines:
        printer.line(line)
    return summary


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its finished child processes."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def write_docs(summary: dict, command: str, readme: str, demo_page: str) -> None:
    """Write the demo's figures into the generated blocks of README and docs/demo.md.

    Args:
        summary (dict): What :func:`run_transfer_demo` returned.
        command (str): The command line that ran the demo, as the docs name it.
        readme (str): README.md (block ``demo``: the demo's closing lines as printed).
        demo_page (str): docs/demo.md (block ``demo-seeds``: the per-seed table).
    """
    write_block(readme, 'demo', command, '```\n' + '\n'.join(summary['lines']) + '\n```')
    strategy = summary['settings']['strategy']
    table = [
        f'| seed | {strategy} test top-1 % | scratch test top-1 % | gain (points) | McNemar p |',
        '|---:|---:|---:|---:|---:|',
    ]
    for run in summary['runs']:
        table.append(
            f'| {run["seed"]} | {run[strategy]:.2f} | {run["scratch"]:.2f} | '
            f'{run["gain"]:+.2f} | {run["p_value"]:.1g} |'
        )
    (t_mean, t_std), (s_mean, s_std) = summary['transfer_test_top1'], summary['scratch_test_top1']
    g_mean, g_std = summary['gain']
    table.append(
        f'| mean ± std | {t_mean:.1f} ± {t_std:.1f} | {s_mean:.1f} ± {s_std:.1f} | '
        f'**{g_mean:+.1f} ± {g_std:.1f}** | |'
    )
    diff = summary['paired']['difference']
    table += [
        '',
        f"Paired over the seeds' {summary['paired']['num_images']} test images: "
        f'{diff["estimate"]:+.1f} points, 95 % interval [{diff["low"]:+.1f}, {diff["high"]:+.1f}], '
        f'McNemar p = {summary["paired"]["mcnemar"]["p_value"]:.2g}. Source task test top-1: '
        f'{summary["pretrain_test_top1"]:.2f} %. Wall-clock {summary["total_seconds"]:.0f} s, '
        f'{summary["cpu_seconds"]:.0f} CPU-s.',
    ]
    write_block(demo_page, 'demo-seeds', command, '\n'.join(table))


def main(argv: Optional[List[str]] = None) -> int:
    """Command line of ``tools/demo_transfer.py``."""
    import argparse

    defaults = DemoSettings()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo_transfer')
    parser.add_argument('--shots', type=int, default=defaults.shots)
    parser.add_argument('--pretrain-epochs', type=int, default=defaults.pretrain_epochs)
    parser.add_argument('--steps', type=int, default=defaults.steps)
    parser.add_argument('--seeds', type=int, nargs='+', default=list(defaults.seeds))
    parser.add_argument(
        '--strategy', default=defaults.strategy, choices=sorted(set(STRATEGIES) - {'scratch'})
    )
    parser.add_argument(
        '--parallel', type=int, default=defaults.parallel, help='runs trained at the same time'
    )
    parser.add_argument('--tiny', action='store_true', help='seconds-long run (for tests)')
    parser.add_argument(
        '--docs',
        action='store_true',
        help="write the figures into README.md and docs/demo.md (the defaults' run only)",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.tiny:
        settings = DemoSettings(
            **{**asdict(TINY), 'strategy': args.strategy, 'parallel': args.parallel}
        )
    else:
        settings = DemoSettings(
            args.shots,
            args.pretrain_epochs,
            args.steps,
            tuple(args.seeds),
            args.strategy,
            args.parallel,
        )
    if args.docs and asdict(settings) != asdict(DemoSettings(parallel=args.parallel)):
        print("[demo] --docs: README states the defaults' figures; drop the other options")
        return 1
    readme, demo_page = (osp.join(REPO_ROOT, p) for p in ('README.md', 'docs/demo.md'))
    try:
        if args.docs:
            check_block(readme, 'demo')
            check_block(demo_page, 'demo-seeds')
        summary = run_transfer_demo(args.work_dir, settings)
    except (RuntimeError, ValueError) as error:
        print(f'[demo] {error}', file=sys.stderr)
        return 1
    if args.docs:
        command = ' '.join(['bash tools/run_demo.sh'] + argv)
        write_docs(summary, command, readme, demo_page)
        print(f'[demo] figures written to {readme} and {demo_page}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
