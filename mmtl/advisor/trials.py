"""Short training runs of candidate strategies, kept or dropped by successive halving.

Each trial is ``tools/train.py`` (or, on small data, ``tools/cross_validate.py``) on a
written config, in its own process and folder.
"""

import csv
import math
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from mmtl.analysis.logs import ranked
from mmtl.utils.processes import run_logged

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')
TRAIN_SCRIPT = osp.join(TOOLS, 'train.py')
CROSS_VALIDATE_SCRIPT = osp.join(TOOLS, 'cross_validate.py')
#: Val images per class below which one run's val top-1 is too noisy to rank candidates: at
#: 20 per class, one image moves it by 5 / num_classes points.
SMALL_VAL_PER_CLASS = 20
MAX_FOLDS = 5


@dataclass
class Candidate:
    """A strategy (and lr) to try: its config overrides."""

    name: str
    strategy: str
    lr: float
    overrides: dict


@dataclass
class TrialResult:
    """One short run."""

    name: str
    rung: int
    epochs: int
    top1: Optional[float]
    work_dir: str


def run_training(config: str, work_dir: str) -> int:
    """``tools/train.py CONFIG --work-dir DIR`` in its own process; output to
    ``<work_dir>/trial_output.log``."""
    command = [sys.executable, TRAIN_SCRIPT, config, '--work-dir', work_dir]
    return run_logged(command, osp.join(work_dir, 'trial_output.log'))


def cross_validation_folds(val_images: int, train_counts: Sequence[int], val_is_train: bool) -> int:
    """k of k-fold trials: 0 (plain trials) unless val is small or a copy of train.

    Args:
        val_images (int): Val images.
        train_counts (Sequence[int]): Training images per class.
        val_is_train (bool): Val holds the training images (then only train is folded).

    Returns:
        int: Up to :data:`MAX_FOLDS`, bounded by the smallest class; 0 when val has at least
        :data:`SMALL_VAL_PER_CLASS` images per class or a class has fewer than 3 images.
    """
    if val_images >= SMALL_VAL_PER_CLASS * len(train_counts) and not val_is_train:
        return 0
    folds = min(MAX_FOLDS, min(train_counts))
    return folds if folds >= 3 else 0


def run_cross_validation(
    config: str, work_dir: str, folds: int, splits: Sequence[str] = ('train', 'val')
) -> int:
    """``tools/cross_validate.py CONFIG --folds K`` in its own process; output to
    ``<work_dir>/trial_output.log``."""
    command = [sys.executable, CROSS_VALIDATE_SCRIPT, config, '--folds', str(folds)]
    command += ['--work-dir', work_dir, '--issues', '0', '--splits', *splits]
    return run_logged(command, osp.join(work_dir, 'trial_output.log'))


def pooled_top1(work_dir: str) -> Optional[float]:
    """The pooled out-of-fold top-1 of a cross-validation trial (None if it wrote none)."""
    path = osp.join(work_dir, 'leaderboard.csv')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return float(next(csv.DictReader(f))['pooled_top1'])


def rung_epochs(budget: int, rungs: int) -> List[int]:
    """Epochs of each rung: the budget halved per rung below the last, at least 1."""
    return [max(1, budget // 2 ** (rungs - 1 - r)) for r in range(rungs)]


def successive_halving(
    candidates: Sequence[Candidate],
    budget: int,
    work_dir: str,
    write_config: Callable[[Candidate, int, str], str],
    run: Callable[[str, str], int],
    score: Callable[[str], Optional[float]],
    log: Callable[[str], None] = print,
    rungs: Optional[int] = None,
) -> List[TrialResult]:
    """Run the candidates in rungs of growing epochs, keeping the better half each time.

    Args:
        candidates (Sequence[Candidate]): What to try.
        budget (int): Epochs of the last rung (the longest runs).
        work_dir (str): Each trial gets ``<work_dir>/rung<r>_<name>/``.
        write_config (Callable): ``(candidate, epochs, path) -> config path``.
        run (Callable): ``(config, trial dir) -> exit code``, e.g. :func:`run_training`.
        score (Callable): ``trial dir -> score``, e.g. the best val top-1.
        log (Callable): Progress printer.
        rungs (int, optional): Number of rungs; 1 trains every candidate for the whole
            budget (no halving: short rungs favour strategies that learn fast, e.g. a
            fine-tuned run over one from scratch). Defaults to None: enough rungs to halve
            down to one candidate, ``ceil(log2(N)) + 1``.

    Returns:
        list[TrialResult]: Every trial, in the order run.
    """
    if rungs is None:
        rungs = max(1, math.ceil(math.log2(max(1, len(candidates)))) + 1)
    elif rungs < 1:
        raise ValueError(f'rungs={rungs!r}: must be at least 1')
    epochs = rung_epochs(budget, rungs)
    alive = list(candidates)
    results: List[TrialResult] = []
    total = sum(max(1, math.ceil(len(candidates) / 2**r)) for r in range(rungs))
    done = 0
    for rung in range(rungs):
        scores: Dict[str, float] = {}
        for cand in alive:
            trial_dir = osp.join(work_dir, f'rung{rung}_{cand.name}')
            config = write_config(
                cand, epochs[rung], osp.join(work_dir, f'rung{rung}_{cand.name}.py')
            )
            code = run(config, trial_dir)
            top1 = score(trial_dir) if code == 0 else None
            results.append(TrialResult(cand.name, rung, epochs[rung], top1, trial_dir))
            done += 1
            shown = 'failed (see trial_output.log)' if top1 is None else f'val top-1 {top1:.2f} %'
            log(f'[{done}/{total}] rung {rung} ({epochs[rung]} epochs) {cand.name}: {shown}')
            scores[cand.name] = -1.0 if top1 is None else top1
        if len(alive) == 1:
            break
        alive.sort(key=lambda c: -scores[c.name])  # stable: earlier candidates win ties
        alive = alive[: max(1, math.ceil(len(alive) / 2))]
    return results


def leaderboard(results: Sequence[TrialResult]) -> List[TrialResult]:
    """Each candidate's furthest trial, ordered by rung reached then score; failed ones last."""
    furthest = {r.name: r for r in results}  # results run rung by rung
    return ranked(list(furthest.values()), lambda r: None if r.top1 is None else (r.rung, r.top1))


def format_leaderboard(rows: Sequence[TrialResult], metric: str = 'best val top-1') -> str:
    """The leaderboard as a markdown table (``metric``: what the score is)."""
    lines = [f'| rank | candidate | rung | epochs | {metric} |', '|---:|---|---:|---:|---:|']
    for rank, r in enumerate(rows, start=1):
        top1 = 'failed' if r.top1 is None else f'{r.top1:.2f} %'
        lines.append(f'| {rank} | {r.name} | {r.rung} | {r.epochs} | {top1} |')
    return '\n'.join(lines)
