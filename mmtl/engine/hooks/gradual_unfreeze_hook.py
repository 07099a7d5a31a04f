"""Unfreeze parts of a pretrained network at chosen epochs (gradual unfreezing)."""

from typing import List, Sequence

from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmtl.registry import HOOKS
from mmtl.utils.errors import ConfigError
from mmtl.utils.modules import bare_model, find_submodules


@HOOKS.register_module()
class GradualUnfreezeHook(Hook):
    """Unfreeze modules of a :class:`mmtl.models.TransferClassifier` at chosen epochs, so the
    new head settles before the pretrained features move. The optimizer must hold the frozen
    parameters (``TransferOptimWrapperConstructor``); on resume, the steps passed are applied
    again.

    Example::

        model = dict(type='TransferClassifier', frozen_modules=['backbone'])
        custom_hooks = [dict(type='GradualUnfreezeHook', schedule=[
            dict(epoch=3, modules=['backbone.layer4']),
            dict(epoch=5, modules=['backbone'])])]

    Args:
        schedule (Sequence[dict]): Steps ``dict(epoch=E, modules=[...])``: the modules are
            trainable from epoch ``E`` on (1-based, as the training log counts epochs).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, schedule: Sequence[dict]) -> None:
        steps = []
        for step in schedule:
            if set(step) != {'epoch', 'modules'} or int(step['epoch']) < 1:
                raise ValueError(
                    f'GradualUnfreezeHook: schedule step {step} must be dict(epoch=E >= 1, '
                    "modules=['backbone.layer4', ...])"
                )
            modules = [step['modules']] if isinstance(step['modules'], str) else step['modules']
            steps.append((int(step['epoch']), list(modules)))
        self.schedule = sorted(steps, key=lambda step: step[0])
        self._done: List[int] = []

    @staticmethod
    def _model(runner):
        model = bare_model(runner.model)
        if not hasattr(model, 'unfreeze'):
            raise ConfigError(
                f'GradualUnfreezeHook needs model.type="TransferClassifier" (it has frozen_modules '
                f'and unfreeze()); got {type(model).__name__}'
            )
        return model

    def check_setup(self, runner) -> None:
        """Check, before any work, that every scheduled module exists in the model.

        Raises:
            ConfigError: Naming the schedule step and the module.
        """
        model = self._model(runner)
        for epoch, modules in self.schedule:
            find_submodules(
                model, modules, label=f'GradualUnfreezeHook schedule (epoch={epoch}) modules:'
            )

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if get_world_size() > 1:
            raise RuntimeError(
                'GradualUnfreezeHook cannot run distributed: DistributedDataParallel fixes the '
                'set of trainable parameters when it wraps the model. Train on one process, or '
                'replace the hook by a per-module lr_mult in optim_wrapper.paramwise_cfg.'
            )
        in_optimizer = {
            id(param)
            for group in runner.optim_wrapper.optimizer.param_groups
            for param in group['params']
        }
        missing = [
            name for name, param in model.named_parameters() if id(param) not in in_optimizer
        ]
        if missing:
            raise ValueError(
                f'GradualUnfreezeHook: {len(missing)} parameters (first: {missing[0]}) are not in '
                'the optimizer, so unfreezing them would not train them. Set optim_wrapper = '
                "dict(constructor='TransferOptimWrapperConstructor', ...)."
            )
        self._unfreeze_due(runner, runner.epoch + 1)

    def before_train_epoch(self, runner) -> None:
        self._unfreeze_due(runner, runner.epoch + 1)

    def _unfreeze_due(self, runner, epoch: int) -> None:
        model = self._model(runner)
        for index, (step_epoch, modules) in enumerate(self.schedule):
            if step_epoch > epoch or index in self._done:
                continue
            released = model.unfreeze(modules)
            self._done.append(index)
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            runner.logger.info(
                f'GradualUnfreezeHook: epoch {epoch}: unfroze {modules} '
                f'({sum(p.numel() for p in released):,} parameters); '
                f'trainable now {trainable:,}, still frozen {model.frozen_modules}'
            )
