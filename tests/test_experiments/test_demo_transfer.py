"""README command 1 (tools/run_demo.sh): transfer from digits 0-4 to 5-9, gain over scratch."""

import io
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from experiments.fewshot import compare_pooled
from experiments.transfer_demo import (
    DEFAULT_STRATEGY,
    DemoSettings,
    StepPrinter,
    fewshot_config,
    main,
    publish_backbone,
    run_logged,
    summary_lines,
    write_docs,
)
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmtl_testing import REPO_ROOT, describe, run_command, tool_env

import mmtl  # noqa: F401
from mmtl.registry import MODELS
from mmtl.utils.checkpoint import safe_torch_load


def fewshot_table(shots: int) -> dict:
    """Strategy -> mean test top-1 at ``shots`` images per class, from docs/fewshot.md's first
    table."""
    with open(f'{REPO_ROOT}/docs/fewshot.md', encoding='utf-8') as f:
        section = f.read()
    lines = [line for line in section.splitlines() if line.startswith('| ')]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    column = header.index(f'k = {shots}')
    table = {}
    for line in lines[1:]:
        cells = [cell.strip().strip('*') for cell in line.strip('|').split('|')]
        if len(cells) != len(header) or not cells[column][:1].isdigit():
            break
        table[cells[0]] = float(cells[column].split('±')[0])
    return table


def test_default_strategy_is_the_best_of_the_fewshot_table_at_the_demos_shots():
    """The demo fine-tunes with the table's best strategy at its images per class."""
    table = fewshot_table(DemoSettings().shots)
    assert {'scratch', 'full-ft', 'full-ft-1x'} <= set(table)
    assert DEFAULT_STRATEGY == max(table, key=table.get)


@pytest.mark.parametrize('train_images, steps', [(5, 200), (10, 200), (40, 30)])
def test_fewshot_configs_differ_only_in_the_strategy(train_images, steps):
    transfer = fewshot_config('data/k', train_images, steps, 'full-ft', 'pre.pth')
    scratch = fewshot_config('data/k', train_images, steps, 'scratch', 'pre.pth')
    assert transfer.load_from == 'pre.pth' and scratch.load_from is None
    custom = transfer.optim_wrapper.paramwise_cfg.custom_keys
    assert custom == {'backbone': dict(lr_mult=0.1)}
    assert 'custom_keys' not in scratch.optim_wrapper.get('paramwise_cfg', {})
    for cfg in (transfer, scratch):
        assert cfg.model.head.num_classes == 5  # a new head for the new digits
        assert cfg.data_root == 'data/k'
        batch = cfg.train_dataloader.batch_size
        assert batch == min(16, train_images) and cfg.train_dataloader.drop_last
        iters = cfg.train_cfg.max_epochs * (train_images // batch)
        assert steps <= iters < steps + train_images // batch  # the same number of steps
        assert cfg.param_scheduler[-1]['end'] == steps
        assert cfg.default_hooks.early_stopping is None
        assert 10 <= cfg.train_cfg.max_epochs // cfg.train_cfg.val_interval < 20  # validations


def test_published_backbone_has_no_head_and_fills_the_backbone(tmp_path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'))
    with DefaultScope.overwrite_default_scope('mmtl'):
        cfg.model.head.num_classes = 5
        source = MODELS.build(cfg.model)
        target = MODELS.build(cfg.model)
    trained = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': source.state_dict(), 'meta': {}, 'optimizer': {}}, trained)
    out = str(tmp_path / 'backbone.pth')
    assert publish_backbone(trained, out) == 312
    checkpoint = safe_torch_load(out)
    assert all(key.startswith('backbone.') for key in checkpoint['state_dict'])
    head_before = target.head.fc.weight.clone()
    load_checkpoint(target, out)
    assert torch.equal(target.backbone.conv2.conv.weight, source.backbone.conv2.conv.weight)
    assert torch.equal(target.head.fc.weight, head_before)  # the new head keeps its init


def _venv_for_demo(tmp_path) -> str:
    """A stand-in for .venv that tools/setup_env.sh finds up to date (no install in tests)."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'  # this interpreter, in its own environment
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    bindir = osp.dirname(sys.executable)
    (venv / 'bin' / 'activate').write_text(f'export PATH="{bindir}:$PATH"\n')
    files = sorted(
        osp.join('requirements', f) for f in os.listdir(osp.join(REPO_ROOT, 'requirements'))
    )
    digest = subprocess.run(
        f'cat {" ".join(files)} setup.py | sha256sum | cut -d" " -f1',
        shell=True,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (venv / '.mmtl-install-stamp').write_text(digest + '\n')
    return str(venv)


def _run_demo(tmp_path, *args: str, timeout: int = 900):
    """``bash tools/run_demo.sh ARGS`` in the test's environment; its output and work dir."""
    work_dir = tmp_path / 'demo'
    # PIP_NO_INDEX: should setup_env.sh find the stand-in out of date, it fails instead of
    # installing anything.
    env = tool_env(str(tmp_path), MMTL_VENV=_venv_for_demo(tmp_path), PIP_NO_INDEX='1')
    command = ['bash', osp.join(REPO_ROOT, 'tools', 'run_demo.sh'), *args]
    result = run_command(command + ['--work-dir', str(work_dir)], REPO_ROOT, env, timeout)
    assert result.returncode == 0, describe(result)
    return result, work_dir


#: The demo's last line: the gain, its spread and the number of seeds.
GAIN_LINE = re.compile(
    r'transfer gain over training from scratch: ([+-]\d+\.\d) ± (\d+\.\d) points '
    r'\(mean ± std over (\d+) seeds'
)
#: The line before it: mean ± std test top-1 of both runs.
TOP1_LINE = re.compile(
    r'over (\d+) seeds: (\S+) (\d+\.\d) ± (\d+\.\d) % vs scratch (\d+\.\d) ± (\d+\.\d) %'
)


@pytest.mark.slow
def test_run_demo_tiny_prints_one_line_per_step_and_writes_its_files(tmp_path):
    result, work_dir = _run_demo(tmp_path, '--tiny')
    out = result.stdout + result.stderr
    assert '[setup]' in out and 'is up to date' in out
    assert len(out.splitlines()) < 40, out
    steps = [line for line in out.splitlines() if re.match(r'\[demo\] \d+/6 ', line)]
    assert [line.split()[1] for line in steps] == [f'{i}/6' for i in range(1, 7)], out
    assert f'{work_dir}/logs/' in out  # where the full output is

    summary = json.loads((work_dir / 'transfer_summary.json').read_text())
    gain = GAIN_LINE.search(out)
    assert gain, describe(result)
    gains = [run[DEFAULT_STRATEGY] - run['scratch'] for run in summary['runs']]
    assert [run['seed'] for run in summary['runs']] == [0, 1] and gain.group(3) == '2'
    assert float(gain.group(1)) == pytest.approx(statistics.fmean(gains), abs=0.06)
    assert float(gain.group(2)) == pytest.approx(statistics.stdev(gains), abs=0.06)
    for seed in (0, 1):
        for run in ('pretrain', f'{DEFAULT_STRATEGY}_seed{seed}', f'scratch_seed{seed}'):
            metrics = json.loads((work_dir / run / 'test_metrics.json').read_text())
            assert 0 <= metrics['metrics']['accuracy/top1'] <= 100
    assert summary['paired']['num_images'] == 2 * 179  # both seeds' test images, paired
    assert re.search(r"paired over the 2 seeds' test images: .* = [+-]\d+\.\d points", out)
    assert re.search(r'whole demo \d+ s, \d+ CPU-s \(\d+ CPUs, load average', out)
    plots = work_dir / f'{DEFAULT_STRATEGY}_seed0' / 'test_plots'
    assert (plots / 'confusion_matrix.png').is_file()
    png = work_dir / 'prediction.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert summary['png'] == str(png) and summary['prediction'] in list('56789')

    # Every step is a mim command of a config written to configs/, its output in logs/, and
    # the fine-tune starts from the published backbone with a new head.
    logs = {path.name: path.read_text() for path in (work_dir / 'logs').iterdir()}
    commands = [line for text in logs.values() for line in text.splitlines()]
    assert len([line for line in commands if line.startswith('$ mim ')]) == 2 + 2 * 2 * 2
    transfer_config = Config.fromfile(summary['configs'][DEFAULT_STRATEGY])
    assert transfer_config.load_from == str(work_dir / 'pretrained_digits_0-4_backbone.pth')
    assert Config.fromfile(summary['configs']['scratch']).load_from is None
    finetune = [
        line
        for seed in (0, 1)
        for line in logs[f'{DEFAULT_STRATEGY}_seed{seed}.log'].splitlines()
        if 'checkpoint weights:' in line
    ]
    # The fine-tune loads the 312 backbone tensors and misses the 2 of the new head.
    assert len(finetune) == 2 and all('312 tensors loaded' in line for line in finetune)
    assert all('head.fc.bias, head.fc.weight' in line for line in finetune)


def test_scratch_runs_train_while_the_backbone_pretrains_and_fine_tunes_wait_for_it(
    tmp_path, monkeypatch
):
    """The scratch runs need no backbone: they overlap the pretraining; fine-tunes follow it."""
    import experiments.transfer_demo as demo

    events, scratch_started, pretrained = [], threading.Event(), threading.Event()

    def fake_train_and_test(config, work_dir, log_name, epochs, plots, progress=None):
        run = osp.basename(work_dir)
        events.append(('start', run))
        if run == 'pretrain':
            # Finishes only once a scratch run has started beside it.
            assert scratch_started.wait(timeout=30), 'no scratch run started during pretraining'
            pretrained.set()
        elif run.startswith('scratch'):
            scratch_started.set()
        else:
            assert pretrained.is_set(), f'{run} started before the backbone was published'
        events.append(('end', run))
        return 50.0, [True, False] * 10

    monkeypatch.setattr(demo, '_train_and_test', fake_train_and_test)
    monkeypatch.setattr(demo, 'publish_backbone', lambda checkpoint, out: 0)
    monkeypatch.setattr(demo, '_best_checkpoint', lambda work_dir: 'best.pth')
    fake_prediction = {'pred_class': '7', 'pred_score': 0.5}
    monkeypatch.setattr(demo, 'classify_one', lambda *args: fake_prediction)
    settings = DemoSettings(shots=1, pretrain_epochs=1, steps=4, seeds=(0, 1), parallel=2)
    summary = demo.run_transfer_demo(str(tmp_path / 'demo'), settings, stream=io.StringIO())

    started = [run for kind, run in events if kind == 'start']
    assert sorted(started) == sorted(
        ['pretrain'] + [f'{s}_seed{seed}' for s in ('scratch', DEFAULT_STRATEGY) for seed in (0, 1)]
    )
    assert summary['configs'][DEFAULT_STRATEGY].endswith(f'seed0_{DEFAULT_STRATEGY}.py')
    assert summary['configs']['scratch'].endswith('seed0_scratch.py')


def test_a_failing_command_names_itself_and_its_log(tmp_path):
    log = str(tmp_path / 'step.log')
    with pytest.raises(RuntimeError) as error:
        run_logged([sys.executable, '-c', 'import sys; print("boom"); sys.exit(3)'], log)
    assert 'failed (exit 3)' in str(error.value) and log in str(error.value)
    assert str(error.value).rstrip().endswith('boom')


def test_the_progress_bar_follows_the_epochs_in_the_log(tmp_path):
    stream = io.StringIO()
    printer = StepPrinter(2, stream, bar=True)
    code = 'import time; print("Epoch(train) [3][1/1]", flush=True); time.sleep(2)'

    def work(progress):
        run_logged([sys.executable, '-c', code], str(tmp_path / 'step.log'), progress, epochs=6)
        return 'done'

    assert printer.step('trains', work) == 'done'
    out = stream.getvalue()
    assert '[demo] 0/2 done; trains [#####.....]' in out
    assert re.search(r'\[demo\] 1/2 trains: done \(\d+ s\)\n$', out), out


def test_steps_are_numbered_in_the_order_they_finish():
    stream = io.StringIO()
    printer = StepPrinter(2, stream, bar=False)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(printer.step, 'slow', lambda progress: time.sleep(1.5) or 'a')
        fast = pool.submit(printer.step, 'fast', lambda progress: 'b')
        assert (slow.result(), fast.result()) == ('a', 'b')
    lines = stream.getvalue().splitlines()
    assert [line.split(':')[0] for line in lines] == ['[demo] 1/2 fast', '[demo] 2/2 slow']


def test_summary_lines_give_the_means_and_the_paired_gain_with_its_spread():
    runs = [
        {'seed': 0, DEFAULT_STRATEGY: 50.0, 'scratch': 20.0, 'gain': 30.0},
        {'seed': 3, DEFAULT_STRATEGY: 40.0, 'scratch': 30.0, 'gain': 10.0},
        {'seed': 4, DEFAULT_STRATEGY: 30.0, 'scratch': 35.0, 'gain': -5.0},
    ]
    text = '\n'.join(summary_lines(runs, 99.5, DemoSettings()))
    gain, top1 = GAIN_LINE.search(text), TOP1_LINE.search(text)
    assert gain.groups() == ('+11.7', '17.6', '3')  # std of the paired gains, not of the means
    assert top1.groups() == ('3', DEFAULT_STRATEGY, '40.0', '10.0', '28.3', '7.6')
    assert '[demo] seed             0       3       4' in text
    assert '[demo] gain        +30.00  +10.00   -5.00' in text
    assert 'ahead of scratch on 2 of 3 seeds' in text and 'test top-1: 99.50 %' in text


def test_summary_gives_each_seeds_mcnemar_p_and_the_pooled_paired_test():
    runs = [
        {'seed': 0, DEFAULT_STRATEGY: 80.0, 'scratch': 40.0, 'gain': 40.0, 'p_value': 2.5e-9},
        {'seed': 1, DEFAULT_STRATEGY: 70.0, 'scratch': 60.0, 'gain': 10.0, 'p_value': 0.21},
    ]
    scratch = [[i < 40 for i in range(100)], [i < 60 for i in range(100)]]
    transfer = [[i < 80 for i in range(100)], [i < 70 for i in range(100)]]
    paired = compare_pooled(scratch, transfer)
    lines = summary_lines(runs, 100.0, DemoSettings(), paired)
    assert '[demo] McNemar p    3e-09     0.2' in lines
    last = lines[-1]
    assert last.startswith("[demo] paired over the 2 seeds' test images: ")
    assert f'{DEFAULT_STRATEGY} - scratch = +25.0 points (95 % interval [+' in last
    assert '200 images): full-ft-1x is better' in last


def _summary(tmp_path) -> dict:
    """A demo summary as run_transfer_demo returns it (figures made up)."""
    runs = [
        {'seed': 0, DEFAULT_STRATEGY: 80.0, 'scratch': 40.0, 'gain': 40.0, 'p_value': 2.5e-9},
        {'seed': 1, DEFAULT_STRATEGY: 70.0, 'scratch': 60.0, 'gain': 10.0, 'p_value': 0.21},
    ]
    paired = compare_pooled([[True, False]] * 2, [[True, True]] * 2)
    lines = summary_lines(runs, 99.5, DemoSettings(seeds=(0, 1)), paired)
    return {
        'settings': {'strategy': DEFAULT_STRATEGY},
        'runs': runs,
        'pretrain_test_top1': 99.5,
        'transfer_test_top1': [75.0, 7.07],
        'scratch_test_top1': [50.0, 14.14],
        'gain': [25.0, 21.21],
        'paired': paired.to_dict(),
        'total_seconds': 300.0,
        'cpu_seconds': 560.0,
        'lines': lines + ['[demo] whole demo 300 s, 560 CPU-s'],
    }


def test_docs_blocks_get_the_printed_lines_and_the_per_seed_table(tmp_path):
    readme, page = tmp_path / 'README.md', tmp_path / 'demo.md'
    for path, name in ((readme, 'demo'), (page, 'demo-seeds')):
        path.write_text(f'top\n<!-- generated {name} -->\n<!-- end generated {name} -->\nend\n')
    summary = _summary(tmp_path)
    write_docs(summary, 'bash tools/run_demo.sh --docs', str(readme), str(page))
    text = readme.read_text()
    assert '\n'.join(summary['lines']) in text  # as printed, in a code block
    assert 'Generated by `bash tools/run_demo.sh --docs` on 20' in text
    assert text.startswith('top\n') and text.endswith('<!-- end generated demo -->\nend\n')
    table = page.read_text()
    assert '| 0 | 80.00 | 40.00 | +40.00 | 3e-09 |' in table
    assert '| mean ± std | 75.0 ± 7.1 | 50.0 ± 14.1 | **+25.0 ± 21.2** | |' in table
    assert "Paired over the seeds' 4 test images: +50.0 points" in table


def test_docs_of_other_settings_than_the_defaults_are_refused_before_any_work(tmp_path, capsys):
    work_dir = tmp_path / 'demo'
    assert main(['--tiny', '--docs', '--work-dir', str(work_dir)]) == 1
    assert "README states the defaults' figures" in capsys.readouterr().out
    assert not work_dir.exists()


def readme_demo_statement() -> dict:
    """The demo's figures as README states them (the lines the demo prints)."""
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        text = ' '.join(f.read().split())
    gain, top1 = GAIN_LINE.search(text), TOP1_LINE.search(text)
    assert gain and top1, "README does not quote the demo's last two lines"
    return {
        'gain': (float(gain.group(1)), float(gain.group(2))),
        'seeds': int(gain.group(3)),
        'strategy': top1.group(2),
        'transfer': (float(top1.group(3)), float(top1.group(4))),
        'scratch': (float(top1.group(5)), float(top1.group(6))),
    }


def test_readme_states_the_demo_defaults_figures():
    """README's figures are of the demo's defaults: the strategy and the number of seeds."""
    stated = readme_demo_statement()
    assert stated['strategy'] == DEFAULT_STRATEGY
    assert stated['seeds'] == len(DemoSettings().seeds)


@pytest.mark.slow
@pytest.mark.proof
def test_run_demo_reproduces_readme_within_its_spread(tmp_path):
    """README command 1 as a user runs it: the printed means lie within README's spread."""
    result, _ = _run_demo(tmp_path, timeout=3600)
    out = result.stdout + result.stderr
    assert len(out.splitlines()) < 40, out
    gain, top1 = GAIN_LINE.search(out), TOP1_LINE.search(out)
    assert gain and top1, describe(result)
    stated = readme_demo_statement()
    printed = {
        'gain': float(gain.group(1)),
        'transfer': float(top1.group(3)),
        'scratch': float(top1.group(5)),
    }
    for key, value in printed.items():
        mean, std = stated[key]
        assert abs(value - mean) <= std, f'{key}: printed {value}, README {mean} ± {std}'
