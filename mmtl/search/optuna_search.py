"""Hyper-parameter search on Optuna (``pip install "mmtl[search]"``): search spaces, studies,
plots. A study lives in a storage, so the same study name and storage resume it."""

import ast
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

from .random_search import Trial

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


def _loguniform(low: float, high: float):
    if not 0 < low < high:
        raise ValueError(f'loguniform({low}, {high}) needs 0 < low < high')
    return require_optuna().distributions.FloatDistribution(low, high, log=True)


def _uniform(low: float, high: float):
    # Optuna takes low == high, a range of one value: refused as a mistake in the spec.
    if not low < high:
        raise ValueError(f'uniform({low}, {high}) needs low < high')
    return require_optuna().distributions.FloatDistribution(low, high)


def _randint(low: int, high: int):
    if not low <= high:
        raise ValueError(f'randint({low}, {high}) needs low <= high')
    return require_optuna().distributions.IntDistribution(low, high)


def _choice(*options: Any):
    if not options:
        raise ValueError('choice() needs at least one value')
    # Optuna only warns about lists and dicts, then cannot store the trial's value.
    if not all(v is None or isinstance(v, (bool, int, float, str)) for v in options):
        raise ValueError('choice() values must be numbers, strings or None')
    return require_optuna().distributions.CategoricalDistribution(options)


#: Name used in a search spec -> the function that builds its Optuna distribution.
DISTRIBUTIONS = {
    'loguniform': _loguniform,
    'uniform': _uniform,
    'randint': _randint,
    'choice': _choice,
}

_SPEC = re.compile(r'^\s*([\w.]+)\s*=\s*(\w+)\s*\((.*)\)\s*$')


def _parse_values(text: str, spec: str) -> list:
    try:
        values = ast.literal_eval(f'[{text}]')
    except (ValueError, SyntaxError):
        # Bare words such as choice(SGD, AdamW) are strings.
        values = [v.strip() for v in text.split(',') if v.strip()]
        if not all(re.fullmatch(r'[\w.\-]+', v) for v in values):
            raise ValueError(f'search spec {spec!r}: cannot read the values {text!r}') from None
    return values


def parse_search_space(specs: Sequence[str]) -> Dict[str, Any]:
    """Read ``KEY=DIST(ARGS)`` specs, e.g. ``optim_wrapper.optimizer.lr=loguniform(1e-4,1e-1)``.

    Args:
        specs (Sequence[str]): One spec per config key. Distributions: ``loguniform(low,
            high)``, ``uniform(low, high)``, ``randint(low, high)``, ``choice(a, b, ...)``.

    Returns:
        dict[str, optuna.distributions.BaseDistribution]: Config key -> distribution, for
        ``study.ask(space)``.

    Raises:
        ValueError: A spec is malformed, names an unknown distribution, has bad values or
            repeats a key.
    """
    space: Dict[str, Any] = {}
    for spec in specs:
        match = _SPEC.match(spec)
        if not match:
            raise ValueError(
                f'search spec {spec!r} must look like KEY=DIST(ARGS), e.g. '
                "'optim_wrapper.optimizer.lr=loguniform(1e-4,1e-1)'"
            )
        key, name, args = match.groups()
        if name not in DISTRIBUTIONS:
            raise ValueError(
                f'search spec {spec!r}: unknown distribution {name!r}; '
                f'choose from {sorted(DISTRIBUTIONS)}'
            )
        if key in space:
            raise ValueError(f'search spec {spec!r}: key {key!r} is given twice')
        values = _parse_values(args, spec)
        try:
            space[key] = DISTRIBUTIONS[name](*values)
        except (TypeError, ValueError) as error:
            raise ValueError(f'search spec {spec!r}: {error}') from None
    return space


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
