"""Report each epoch's val metric to an Optuna trial and stop the run when it is pruned."""

from typing import Optional

from mmengine.hooks import Hook

from mmtl.registry import HOOKS


@HOOKS.register_module()
class OptunaPruningHook(Hook):
    """After every validation, report ``metric`` to the trial; raise ``TrialPruned`` if told.

    The trial is opened from the search's storage by study name and number when the hook is
    built; a storage does not keep the pruner, so the search passes its settings.

    Args:
        storage (str): The study's storage URL (e.g. ``sqlite:///.../study.db``).
        study_name (str): The study's name.
        trial_number (int): The trial's number in the study.
        metric (str): The val metric to report. Defaults to ``'accuracy/top1'``.
        pruner (str): One of ``mmtl.search.optuna_search.PRUNERS``. Defaults to
            ``'median'``.
        n_startup_trials (int): Trials the pruner lets finish first. Defaults to 2.
        n_warmup_steps (int): Epochs never pruned. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(
        self,
        storage: str,
        study_name: str,
        trial_number: int,
        metric: str = 'accuracy/top1',
        pruner: str = 'median',
        n_startup_trials: int = 2,
        n_warmup_steps: int = 0,
    ) -> None:
        from mmtl.search.optuna_search import make_pruner, require_optuna

        optuna = require_optuna()
        self.metric = metric
        self.trial_number = trial_number
        storage = optuna.storages.get_storage(storage)
        pruner = make_pruner(pruner, n_startup_trials, n_warmup_steps)
        study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner)
        study_id = storage.get_study_id_from_name(study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial_number)
        self.trial = optuna.trial.Trial(study, trial_id)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics or self.metric not in metrics:
            runner.logger.warning(f'OptunaPruningHook: no {self.metric} in the val metrics')
            return
        from optuna import TrialPruned

        value = float(metrics[self.metric])
        self.trial.report(value, step=runner.epoch)
        if self.trial.should_prune():
            message = (
                f'trial {self.trial_number} pruned at epoch {runner.epoch}: '
                f'{self.metric} {value:.4g} is below the median of earlier trials'
            )
            runner.logger.info(message)
            raise TrialPruned(message)
