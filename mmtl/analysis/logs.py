"""Reading mmengine's scalar logs (``<work_dir>/<timestamp>/vis_data/scalars.json``), and
ranking runs by them."""

import glob
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from mmtl.utils.errors import ConfigError

#: Keys of validation records that are timings, not metrics.
NON_METRIC_KEYS = (
    'step',
    'time',
    'data_time',
    'val/time',
    'val/data_time',
    'test/time',
    'test/data_time',
    'epoch',
    'iter',
)


class ScalarLogError(ConfigError):
    """A scalar log line is not a JSON record, or a metric asked for is not in the log."""


@dataclass
class ScalarLog:
    """The records of one run, split into training and validation ones.

    Attributes:
        path (str): The ``scalars.json`` read (the newest one when segments were stitched).
        segments (list[str]): Every ``scalars.json`` stitched into this log, oldest first.
        train (list[dict]): Records written while training (they have ``iter``).
        val (list[dict]): Validation records (metrics, with ``step`` = epoch or iteration).
        resumed (bool): The run resumed from a checkpoint (its text log says so).
        earlier_runs (list[str]): The run folders of earlier, separate runs in the same work
            dir (not part of this log).
    """

    path: str
    segments: List[str] = field(default_factory=list)
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)
    resumed: bool = False
    earlier_runs: List[str] = field(default_factory=list)

    def train_series(self, key: str, x_key: str = 'iter') -> Tuple[List[float], List[float]]:
        """``(x, y)`` of a training scalar over the records that have it."""
        rows = [r for r in self.train if key in r]
        return [r[x_key] for r in rows], [r[key] for r in rows]

    def val_series(self, key: str) -> Tuple[List[float], List[float]]:
        """``(step, value)`` of a validation metric."""
        rows = [r for r in self.val if key in r]
        return [r['step'] for r in rows], [r[key] for r in rows]

    @property
    def loss_keys(self) -> List[str]:
        return sorted({k for r in self.train for k in r if 'loss' in k})

    @property
    def lr_keys(self) -> List[str]:
        return sorted({k for r in self.train for k in r if k == 'lr' or k.endswith('momentum')})

    @property
    def val_axis(self) -> str:
        """``'epoch'`` when validation steps count epochs, else ``'iteration'``."""
        last_epoch = max((r.get('epoch', 0) for r in self.train), default=0)
        val_steps = [r['step'] for r in self.val if 'step' in r]
        return 'epoch' if val_steps and max(val_steps) <= last_epoch else 'iteration'

    @property
    def metric_keys(self) -> List[str]:
        keys = []
        for record in self.val:
            keys.extend(k for k in record if k not in NON_METRIC_KEYS and k not in keys)
        return keys


def find_segment_logs(work_dir: str) -> List[str]:
    """Every run's ``scalars.json`` in a work dir, oldest first (one per ``<timestamp>`` folder).

    mmengine starts a new timestamped folder each time a run is (re)started in the same work
    dir, so a resumed run is spread over several of them.

    Args:
        work_dir (str): The work dir.

    Returns:
        list[str]: The logs, in time order (empty when there are none).
    """
    return sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data', 'scalars.json')))


def load_scalar_log(path: str) -> ScalarLog:
    """Read a json-lines scalar log; a work dir gives all its run segments, stitched.

    Args:
        path (str): ``scalars.json`` or a run folder (that run alone), or a work dir: the
            segments of every run in it (see :func:`stitch_segments`).

    Returns:
        ScalarLog: Its records, in iteration / step order.

    Raises:
        FileNotFoundError: No log there; the message names the patterns searched.
        ScalarLogError: A line is not a JSON object; the message names the file and line.
    """
    if osp.isfile(path):
        return _read_segment(path)
    run_log = osp.join(path, 'vis_data', 'scalars.json')
    segments = [run_log] if osp.isfile(run_log) else find_segment_logs(path)
    if not segments:
        pattern = osp.join(path, '*', 'vis_data', 'scalars.json')
        raise FileNotFoundError(f'no scalars.json log found: looked for {[run_log, pattern]}')
    if len(segments) > 1:
        return stitch_segments([_read_segment(p) for p in segments])
    return _read_segment(segments[0])


def stitch_segments(logs: List[ScalarLog]) -> ScalarLog:
    """The newest run of a work dir: its first segment and the resumed ones after it.

    A segment that did not resume starts its own run, whatever its iteration numbers; a
    resumed segment takes over from its first iteration (and first validation step) on:
    what an earlier segment logged from there was discarded by the resume. Segments without
    training records (e.g. ``tools/test.py`` runs) are left out unless no segment trains.

    Args:
        logs (list[ScalarLog]): One log per segment, in time order.

    Returns:
        ScalarLog: ``path`` of the newest training segment, the run's segments in
        ``segments`` and the folders of the earlier runs in ``earlier_runs``.
    """
    training = [log for log in logs if log.train] or logs
    first = max((i for i, log in enumerate(training) if not log.resumed), default=0)
    earlier = [_run_folder(log.path) for log in training[:first] if not log.resumed]
    train: List[dict] = []
    val: List[dict] = []
    for log in training[first:]:
        if log.train:
            start = min(r['iter'] for r in log.train)
            train = [r for r in train if r['iter'] < start]
        steps = [r['step'] for r in log.val if 'step' in r]
        if steps:
            val = [r for r in val if r.get('step', -1) < min(steps)]
        train.extend(log.train)
        val.extend(log.val)
    train.sort(key=lambda r: r['iter'])
    val.sort(key=lambda r: r.get('step', -1))
    segments = [log.path for log in training[first:]]
    return ScalarLog(
        training[-1].path, segments, train, val, training[first].resumed, earlier_runs=earlier
    )


def _run_folder(scalars_path: str) -> str:
    """``<work_dir>/<timestamp>`` of its ``vis_data/scalars.json``."""
    return osp.dirname(osp.dirname(scalars_path))


def _resumed(scalars_path: str) -> bool:
    """Whether the run's text log (``<timestamp>/<timestamp>.log``) says it resumed."""
    folder = _run_folder(scalars_path)
    text_log = osp.join(folder, osp.basename(folder) + '.log')
    if not osp.isfile(text_log):
        return False
    with open(text_log, encoding='utf-8', errors='replace') as f:
        return any('resumed epoch: ' in line for line in f)  # mmengine's Runner.resume line


def _read_segment(path: str) -> ScalarLog:
    """The records of one ``scalars.json``, in file order (but a last line cut off mid-write)."""
    log = ScalarLog(path, [path], resumed=_resumed(path))
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                if not line.endswith('\n'):  # a run killed while writing its last record
                    break
                raise ScalarLogError(f'{path}:{number}: not a JSON record ({err})') from None
            if not isinstance(record, dict):
                raise ScalarLogError(
                    f'{path}:{number}: expected a JSON object, got {line.strip()!r}'
                )
            (log.train if 'iter' in record else log.val).append(record)
    return log


def best_metric(
    log: ScalarLog, key: Optional[str] = None, rule: str = 'greater'
) -> Dict[str, float]:
    """The best value of a validation metric and the step (epoch) it was reached at.

    Args:
        log (ScalarLog): The log.
        key (str, optional): Metric name. Defaults to None: the first metric logged.
        rule (str): ``'greater'`` or ``'less'`` is better. Defaults to ``'greater'``.

    Returns:
        dict: ``metric``, ``value``, ``step`` (the first step with the best value), ``last``.

    Raises:
        ScalarLogError: The log has no validation records with ``key``.
    """
    key = key or next(iter(log.metric_keys), None)
    steps, values = log.val_series(key) if key else ([], [])
    if not values:
        raise ScalarLogError(
            f'no validation metric {key!r} in {log.path}; logged: {log.metric_keys}'
        )
    pick = max if rule == 'greater' else min
    best = pick(values)
    return {'metric': key, 'value': best, 'step': steps[values.index(best)], 'last': values[-1]}


def best_value(work_dir: str, metric: str, rule: str = 'greater') -> Optional[float]:
    """:func:`best_metric` of a work dir's newest run; None when it logged no ``metric``.

    Args:
        work_dir (str): The run's work dir.
        metric (str): Metric name, e.g. ``'accuracy/top1'``.
        rule (str): ``'greater'`` or ``'less'`` is better. Defaults to ``'greater'``.

    Returns:
        float | None: The best value (None for a run that failed before validating).
    """
    if not find_segment_logs(work_dir):
        return None
    log = load_scalar_log(work_dir)
    return best_metric(log, metric, rule)['value'] if metric in log.metric_keys else None


Row = TypeVar('Row')


def ranked(rows: Sequence[Row], score: Callable[[Row], Any], rule: str = 'greater') -> List[Row]:
    """A leaderboard: the rows with a score best first (ties keep their order), then the rest.

    Args:
        rows (Sequence): The runs.
        score (Callable): A row's score (anything that orders), None for a failed run.
        rule (str): ``'greater'`` or ``'less'`` is better. Defaults to ``'greater'``.

    Returns:
        list: The rows, ranked.
    """
    scored = sorted((r for r in rows if score(r) is not None), key=score, reverse=rule == 'greater')
    return scored + [r for r in rows if score(r) is None]


def curve_figures(log: ScalarLog) -> Dict[str, object]:
    """Training curves: ``loss`` and ``lr`` against the iteration, ``val`` against the epoch.

    Args:
        log (ScalarLog): The log.

    Returns:
        dict: ``name -> matplotlib Figure`` for each group the log has (one line per key;
        each line has one point per record holding the key).
    """
    from mmtl.visualization.figure import new_figure

    groups = {
        'loss': (log.loss_keys, 'iteration', log.train_series),
        'lr': (log.lr_keys, 'iteration', log.train_series),
        'val': (log.metric_keys, log.val_axis, log.val_series),
    }
    figures = {}
    for name, (keys, x_label, series) in groups.items():
        if not keys:
            continue
        figure = new_figure((7, 4))
        axes = figure.add_subplot(1, 1, 1)
        for key in keys:
            xs, ys = series(key)
            axes.plot(xs, ys, marker='o' if len(xs) < 30 else None, markersize=3, label=key)
        axes.set_xlabel(x_label)
        axes.set_ylabel(name)
        axes.set_title(f'{name} ({osp.basename(_run_folder(log.path))})')
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figures[name] = figure
    return figures
