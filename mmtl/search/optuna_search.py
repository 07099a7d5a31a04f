"""Hyper-parameter search on Optuna (``pip install "mmtl[search]"``): studies, suggestions,
plots. A study lives in a storage, so the same study name and storage resume it."""

import os
import os.path as osp
from typing import Any, Dict, List, Optional

from .random_search import Distribution, LogUniform, RandInt, Trial, Uniform

#: Trial ``user_attrs`` keys written by the search.
WORK_DIR_ATTR = 'work_dir'
STATUS_ATTR = 'status'


def require_optuna():
    """The ``optuna`` module, or an ImportError that says how to install it."""
    try:
        import optuna
    except ImportError:
        raise ImportError(
            'the hyper-parameter search needs Optuna: pip install "mmtl[search]" (or optuna==5.0.0)'
        ) from None
    return optuna


#: ``--sampler`` name -> the Optuna sampler (in ``optuna.samplers``), built with the seed.
SAMPLERS = {'tpe': 'TPESampler', 'random': 'RandomSampler'}
#: ``--pruner`` names: the median pruner, or none.
PRUNERS = ('median', 'none')


def make_pruner(name: str, n_startup_trials: int, n_warmup_steps: int):
    """The Optuna pruner ``name`` (one of :data:`PRUNERS`); the median pruner lets
    ``n_startup_trials`` finish and never prunes the first ``n_warmup_steps`` epochs."""
    pruners = require_optuna().pruners
    if name == 'none':
        return pruners.NopPruner()
    return pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)


def default_storage(work_dir: str) -> str:
    """``sqlite:///<work_dir>/study.db`` (absolute), the study file of a search folder."""
    return f'sqlite:///{osp.abspath(osp.join(work_dir, "study.db"))}'


def create_study(
    study_name: str,
    storage: str,
    rule: str = 'greater',
    sampler: str = 'tpe',
    pruner: str = 'median',
    seed: Optional[int] = 0,
    n_startup_trials: int = 2,
    n_warmup_steps: int = 0,
):
    """Create the study, or load it when the storage already holds one of that name.

    Args:
        study_name (str): The study's name in the storage.
        storage (str): An Optuna storage URL, e.g. ``sqlite:///work_dirs/search/study.db``.
        rule (str): ``'greater'`` (maximize) or ``'less'``. Defaults to ``'greater'``.
        sampler (str): A key of :data:`SAMPLERS`. Defaults to ``'tpe'``.
        pruner (str): One of :data:`PRUNERS`. Defaults to ``'median'``.
        seed (int, optional): Seed of the sampler. Defaults to 0.
        n_startup_trials (int): Trials the median pruner lets finish before pruning.
        n_warmup_steps (int): Epochs of each trial that are never pruned.

    Returns:
        optuna.Study: The study.
    """
    optuna = require_optuna()
    if storage.startswith('sqlite:///'):  # the folder of a new study file
        folder = osp.dirname(storage[len('sqlite:///') :])
        if folder:
            os.makedirs(folder, exist_ok=True)
    direction = 'maximize' if rule == 'greater' else 'minimize'
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction=direction,
        sampler=getattr(optuna.samplers, SAMPLERS[sampler])(seed=seed),
        pruner=make_pruner(pruner, n_startup_trials, n_warmup_steps),
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise ValueError(
            f'study {study_name!r} in {storage} is to {study.direction.name.lower()}, '
            f'not {direction}; use another --study-name'
        )
    return study


def suggest(trial, key: str, dist: Distribution) -> Any:
    """Ask the Optuna ``trial`` for a value of config ``key`` drawn from ``dist``.

    Raises:
        ValueError: A ``choice`` with values Optuna cannot store (lists, dicts).
    """
    if isinstance(dist, LogUniform):
        return trial.suggest_float(key, dist.low, dist.high, log=True)
    if isinstance(dist, Uniform):
        return trial.suggest_float(key, dist.low, dist.high)
    if isinstance(dist, RandInt):
        return trial.suggest_int(key, dist.low, dist.high)
    if not all(v is None or isinstance(v, (bool, int, float, str)) for v in dist.options):
        raise ValueError(f'{key}: choice() values must be numbers, strings or None')
    return trial.suggest_categorical(key, dist.options)


def fail_stale_trials(study) -> List[int]:
    """Mark trials left RUNNING by a search that was killed as FAIL; their numbers."""
    optuna = require_optuna()
    stale = [t.number for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))]
    for number in stale:
        study.tell(number, state=optuna.trial.TrialState.FAIL)
    return stale


def finished_trials(study) -> list:
    """Trials that ended (complete, pruned or failed), in order."""
    state = require_optuna().trial.TrialState
    return study.get_trials(states=(state.COMPLETE, state.PRUNED, state.FAIL))


def leaderboard_trials(study) -> List[Trial]:
    """Every finished trial of the study as a leaderboard :class:`Trial` (scored if complete)."""
    return [
        Trial(
            index=frozen.number,
            params=dict(frozen.params),
            work_dir=frozen.user_attrs.get(WORK_DIR_ATTR, ''),
            score=frozen.value if frozen.state.name == 'COMPLETE' else None,
            status=frozen.user_attrs.get(STATUS_ATTR, frozen.state.name.lower()),
        )
        for frozen in finished_trials(study)
    ]


def pruned_status(frozen) -> str:
    """``'pruned at epoch 2 (0.4125)'`` from a pruned trial's last intermediate value."""
    if not frozen.intermediate_values:
        return 'pruned'
    step = max(frozen.intermediate_values)
    return f'pruned at epoch {step} ({frozen.intermediate_values[step]:.4g})'


def write_plots(study, out_dir: str) -> Dict[str, str]:
    """Optuna's optimization history and parameter importances as PNG (matplotlib, Agg).

    Args:
        study (optuna.Study): The study.
        out_dir (str): Folder for ``optuna_history.png`` and ``optuna_importances.png``.

    Returns:
        dict: Plot name -> file written, or -> ``'skipped: <why>'`` when Optuna cannot
        draw it yet (importances need two complete trials with different values).
    """
    import warnings

    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    optuna = require_optuna()
    from optuna.visualization import matplotlib as optuna_plots

    plots = {
        'history': (optuna_plots.plot_optimization_history, 'optuna_history.png'),
        'importances': (optuna_plots.plot_param_importances, 'optuna_importances.png'),
    }
    written = {}
    for name, (plot, filename) in plots.items():
        path = osp.join(out_dir, filename)
        try:
            # rc_context: Optuna's plots set the ggplot style for the whole process.
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
                figure = plot(study).figure
                figure.set_size_inches(7, 4.5)
                figure.tight_layout()
                figure.savefig(path, dpi=100)
                plt.close(figure)
            written[name] = path
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            written[name] = f'skipped: {err}'
    return written
