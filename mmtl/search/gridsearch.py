"""Leaderboard of a finished ``mim gridsearch``: its runs are ``WORK_DIR_search_<k>_<v>...``."""

import glob
import os.path as osp
from typing import Any, Dict, List, Optional

from mmtl.analysis.logs import best_value
from mmtl.config.access import MISSING, lookup

from .random_search import Trial

#: What ``mim gridsearch`` appends to ``--work-dir`` for each combination of values.
SEARCH_MARK = '_search_'


def searched_values(suffix: str, cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Split a ``<k1>_<v1>_<k2>_<v2>`` name suffix into keys and values, using the run's config.

    Keys and values both may hold ``_``; a split is taken where the key is a (dotted) config
    key whose value, as text, is what follows it. That is how mim wrote the name.

    Args:
        suffix (str): The folder name after ``_search_``.
        cfg (dict): The run's config (it holds the searched values).

    Returns:
        dict: ``{key: value}``; ``{'search': suffix}`` when the name cannot be split.
    """
    found = _split(suffix, cfg)
    return found if found is not None else {'search': suffix}


def _split(rest: str, cfg: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    if not rest:
        return {}
    for end in (i for i, c in enumerate(rest) if c == '_'):
        key = rest[:end]
        value = lookup(cfg, key)
        text = str(value)
        tail = rest[end + 1 :]
        if value is MISSING or not tail.startswith(text):
            continue
        after = tail[len(text) :]
        if after and not after.startswith('_'):
            continue
        others = _split(after[1:], cfg)
        if others is not None:
            return {key: value, **others}
    return None


def gridsearch_trials(work_dir: str, metric: str, rule: str = 'greater') -> List[Trial]:
    """One leaderboard :class:`Trial` per run of a ``mim gridsearch``.

    Args:
        work_dir (str): The ``--work-dir`` given to ``mim gridsearch``.
        metric (str): Validation metric to rank by, e.g. ``'accuracy/top1'``.
        rule (str): ``'greater'`` or ``'less'`` is better.

    Returns:
        list[Trial]: The runs, with their searched values and best metric.

    Raises:
        FileNotFoundError: No ``WORK_DIR_search_*`` folder exists (the message names it).
    """
    from mmengine.config import Config

    prefix = work_dir.rstrip('/\\') + SEARCH_MARK
    runs = sorted(d for d in glob.glob(glob.escape(prefix) + '*') if osp.isdir(d))
    if not runs:
        raise FileNotFoundError(
            f'no mim gridsearch runs found: no folder {work_dir.rstrip("/")}{SEARCH_MARK}*'
        )
    trials = []
    for index, run in enumerate(runs):
        suffix = osp.basename(run).split(SEARCH_MARK, 1)[1]
        configs = sorted(glob.glob(osp.join(run, f'*{SEARCH_MARK}{glob.escape(suffix)}.py')))
        cfg = Config.fromfile(configs[0]).to_dict() if configs else {}
        score = best_value(run, metric, rule)
        status = 'done' if score is not None else f'no {metric}'
        trials.append(Trial(index, searched_values(suffix, cfg), run, score, status))
    return trials
