"""Stop training at the first NaN or infinite loss, before it reaches a checkpoint."""

import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmtl.registry import HOOKS
from mmtl.utils.errors import short_list

from .effective_lr_hook import optim_wrapper_list


class NonFiniteLossError(RuntimeError):
    """The training loss (or a weight about to be saved) is NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run when the loss becomes NaN or infinite, and refuse to save such weights.

    The loss is read from the message hub (a host float: no device sync).

    Args:
        loss_key (str): The logged scalar to watch. Defaults to ``'loss'`` (the total loss).
    """

    priority = 'NORMAL'

    def __init__(self, loss_key: str = 'loss') -> None:
        self.loss_key = loss_key

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None
    ) -> None:
        scalar = f'train/{self.loss_key}'
        if scalar not in runner.message_hub.log_scalars:
            return
        value = runner.message_hub.get_scalar(scalar).current()
        if math.isfinite(value):
            return
        self._stop(
            runner,
            f'{self.loss_key} is {value} at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}, batch {batch_idx + 1} of {len(runner.train_dataloader)}), lr '
            f'{self._learning_rates(runner)}. Training stopped before any checkpoint of these '
            f'weights was written; {self._checkpoints_kept(runner)}',
        )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [
            name
            for name, tensor in checkpoint.get('state_dict', {}).items()
            if torch.is_tensor(tensor)
            and tensor.is_floating_point()
            and not bool(torch.isfinite(tensor).all())
        ]
        if bad:
            self._stop(
                runner,
                f'the weights at iteration {runner.iter} (epoch {runner.epoch}) hold NaN or '
                f'infinite values ({short_list(bad, 5)}); the checkpoint was not written and '
                f'{self._checkpoints_kept(runner)}',
            )

    def _stop(self, runner, what: str) -> None:
        message = f'{what}. {self._advice(runner)}'
        runner.logger.error(message)
        raise NonFiniteLossError(message)

    @staticmethod
    def _advice(runner) -> str:
        cfg = getattr(runner, 'cfg', None) or {}
        optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
        lr = optimizer.get('lr') if isinstance(optimizer, dict) else None
        wrapper = getattr(runner, 'optim_wrapper', None)
        if lr is None and wrapper is not None and not isinstance(wrapper, dict):  # not a config
            groups = optim_wrapper_list(wrapper)[0].param_groups
            lr = groups[0].get('initial_lr', groups[0].get('lr'))
        lower = (
            f'--cfg-options optim_wrapper.optimizer.lr={lr / 10:g}'
            if isinstance(lr, (int, float))
            else 'a lower optim_wrapper.optimizer.lr'
        )
        return (
            f'Resume with a lower learning rate: --resume {lower} (the lr of the config '
            f"replaces the checkpoint's on resume, logged by EffectiveLrHook); or add gradient "
            f'clipping (optim_wrapper.clip_grad=dict(max_norm=1.0)), or check the data.'
        )

    @staticmethod
    def _learning_rates(runner) -> str:
        rates = runner.optim_wrapper.get_lr()
        values = sorted({v for group in rates.values() for v in group})
        return ', '.join(f'{v:.6g}' for v in values)

    @staticmethod
    def _checkpoints_kept(runner) -> str:
        info = runner.message_hub.runtime_info
        last = info.get('last_ckpt')
        best = info.get('best_ckpt')
        kept = f'the last good checkpoint is {last}' if last else 'no checkpoint was saved yet'
        if best:
            kept += f' and the best is {best} (both untouched)'
        return kept
