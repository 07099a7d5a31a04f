"""The trial of a search and the leaderboard (the search space is read in ``optuna_search``)."""

import csv
import glob
import json
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Any, List, Optional, Sequence

from mmtl.analysis.logs import find_segment_logs, load_scalar_log, ranked
from mmtl.utils.fileio import atomic_open
from mmtl.utils.prediction_rows import safe_text


@dataclass
class Trial:
    """One trial of a search: its overrides, where it ran and how it scored."""

    index: int
    params: dict
    work_dir: str
    score: Optional[float] = None
    status: str = 'pending'
    lr_used: Optional[str] = None


def write_leaderboard(
    trials: Sequence[Trial], out_dir: str, metric: str, rule: str = 'greater'
) -> str:
    """Write ``leaderboard.csv`` and ``leaderboard.json`` (best first) and return a text table.

    Next to the sampled values, ``lr_used`` gives the lr each trial really trained with
    (:func:`used_lr`).

    Args:
        trials (Sequence[Trial]): Finished trials.
        out_dir (str): Folder for the files.
        metric (str): The metric name, for the header.
        rule (str): ``'greater'`` or ``'less'`` is better.

    Returns:
        str: The leaderboard as a text table.
    """
    order = ranked(trials, lambda t: t.score, rule)
    for t in order:
        t.lr_used = used_lr(t.work_dir) if t.work_dir else None
    keys = list(dict.fromkeys(k for t in trials for k in t.params))
    with atomic_open(osp.join(out_dir, 'leaderboard.json'), 'w') as f:
        json.dump(
            {'metric': metric, 'rule': rule, 'trials': [asdict(t) for t in order]}, f, indent=2
        )
    with atomic_open(osp.join(out_dir, 'leaderboard.csv'), 'w') as f:
        writer = csv.writer(f)
        writer.writerow(['rank', 'trial', metric, 'status', *keys, 'lr_used', 'work_dir'])
        for rank, t in enumerate(order, 1):
            params = [t.params.get(k) for k in keys]
            writer.writerow([rank, t.index, t.score, t.status, *params, t.lr_used, t.work_dir])
    header = f'{"rank":>4}  {"trial":>5}  {metric:>14}  ' + '  '.join(f'{k:>24}' for k in keys)
    lines = [header + '  lr used (peak, per group)']
    for rank, t in enumerate(order, 1):
        score = f'{t.score:14.4f}' if t.score is not None else f'{t.status:>14}'
        cells = '  '.join(f'{_short(t.params.get(k)):>24}' for k in keys)
        lines.append(f'{rank:>4}  {t.index:>5}  {score}  {cells}  {t.lr_used or "-"}')
    return '\n'.join(lines)


def used_lr(work_dir: str) -> Optional[str]:
    """The peak lr each parameter group trained with, e.g. ``'head 0.004; backbone 0.0004'``.

    The peak is the largest logged ``lr`` (the largest group's, after scaling and warm-up);
    the other groups keep their ratio to it from the run's ``LR_GROUPS_FILE`` (all groups
    follow the same schedule).

    Args:
        work_dir (str): The trial's work dir.

    Returns:
        str | None: The text for the leaderboard, None when the run logged no lr.
    """
    from mmtl.engine.hooks.effective_lr_hook import LR_GROUPS_FILE

    if not find_segment_logs(work_dir):
        return None
    peak = max(load_scalar_log(work_dir).train_series('lr')[1], default=None)
    if peak is None:
        return None
    # The newest run's file comes last.
    files = sorted(glob.glob(osp.join(glob.escape(work_dir), '*', LR_GROUPS_FILE)))
    groups = _read_lr_groups(files[-1]) if files else []
    top = max((g['lr'] for g in groups), default=0.0)
    if len(groups) < 2 or top <= 0:
        return f'{peak:.4g}'
    return '; '.join(
        f'{",".join(safe_text(m) for m in g["modules"])} {g["lr"] * peak / top:.4g}' for g in groups
    )


def _read_lr_groups(path: str) -> List[dict]:
    """The groups of an ``LR_GROUPS_FILE``; none when it is damaged (a leaderboard column
    only loses its per-group detail)."""
    try:
        with open(path, encoding='utf-8') as f:
            groups = json.load(f)
    except (OSError, ValueError):
        return []
    valid = isinstance(groups, list) and all(
        isinstance(g, dict)
        and type(g.get('lr')) in (int, float)
        and isinstance(g.get('modules'), list)
        and all(isinstance(m, str) for m in g['modules'])
        for g in groups
    )
    return groups if valid else []


def _short(value: Any) -> str:
    return f'{value:.4g}' if isinstance(value, float) else str(value)
