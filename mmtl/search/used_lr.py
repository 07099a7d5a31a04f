"""The lr a trial really trained with, read from its run (not the unscaled sampled value)."""

import glob
import os.path as osp
import re
from typing import List, Optional, Tuple

#: The line :class:`mmtl.engine.hooks.EffectiveLrHook` logs at the start of training.
_GROUPS_LINE = re.compile(r'Effective lr per parameter group \([^)]*\): (.*)$')
_GROUP = re.compile(r'^\s*([0-9.eE+-]+): (.*?) \((\d+) tensors\)\s*$')


def logged_param_groups(work_dir: str) -> List[Tuple[float, str]]:
    """``(lr, parameters)`` per distinct lr, from the newest run log that names them.

    Args:
        work_dir (str): The trial's work dir (``<timestamp>/<timestamp>.log`` inside).

    Returns:
        list[tuple[float, str]]: The lr each group started training with (after
        ``auto_scale_lr``, ``lr_mult`` and layer decay) and its parameters; empty if no log
        names them.
    """
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.log')), reverse=True):
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = [m.group(1) for m in map(_GROUPS_LINE.search, f) if m]
        if lines:
            groups = [_GROUP.match(part) for part in lines[-1].split('; ')]
            return [(float(g.group(1)), g.group(2)) for g in groups if g]
    return []


def peak_logged_lr(work_dir: str) -> Optional[float]:
    """The largest ``lr`` of the trial's training records (its newest run's scalar log).

    Returns:
        float | None: The peak lr (the largest group's), None when none was logged.
    """
    from mmtl.analysis.logs import find_segment_logs, load_scalar_log

    values = load_scalar_log(work_dir).train_series('lr')[1] if find_segment_logs(work_dir) else []
    return max(values) if values else None


def used_lr(work_dir: str) -> Optional[str]:
    """The peak lr each parameter group trained with, e.g. ``'head 0.004; backbone 0.0004'``.

    The peak comes from the logged ``lr`` (the largest group's, after scaling and warm-up);
    the other groups keep the ratio to it they had in the start-of-training log line (all
    groups follow the same schedule).

    Args:
        work_dir (str): The trial's work dir.

    Returns:
        str | None: The text for the leaderboard, None when the run logged no lr.
    """
    peak = peak_logged_lr(work_dir)
    groups = logged_param_groups(work_dir)
    if peak is None:
        return None
    top = max((lr for lr, _ in groups), default=0.0)
    if len(groups) < 2 or top <= 0:
        return f'{peak:.4g}'
    return '; '.join(f'{_name(names)} {lr * peak / top:.4g}' for lr, names in groups)


def _name(names: str) -> str:
    """``backbone.{a,b}, neck`` -> ``backbone, neck``: the top-level modules only."""
    tops = [n.split('.', 1)[0] for n in re.sub(r'\{[^}]*\}', '', names).split(', ')]
    return ','.join(dict.fromkeys(t for t in tops if t))
