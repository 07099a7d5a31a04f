"""Log what a loaded checkpoint contributed to the model: loaded, skipped, missing keys."""

import logging
import re
from typing import Dict, List, Mapping

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmtl.registry import HOOKS

#: Prefixes that wrappers add to parameter names; mmengine strips them when loading.
WRAPPER_PREFIX = re.compile(r'^module\.')


def compare_state_dicts(
    checkpoint_state: Mapping[str, torch.Tensor], model_state: Mapping[str, torch.Tensor]
) -> Dict[str, List[str]]:
    """Sort checkpoint keys by what loading them into a model does.

    Args:
        checkpoint_state (Mapping): The checkpoint's ``state_dict``.
        model_state (Mapping): The model's ``state_dict()``.

    Returns:
        dict: ``loaded`` (same name and shape), ``shape_mismatch`` (same name, other shape:
        left at the model's initial values), ``missing`` (in the model only) and
        ``unexpected`` (in the checkpoint only); each a sorted list of keys.
    """
    checkpoint_state = {WRAPPER_PREFIX.sub('', k): v for k, v in checkpoint_state.items()}
    common = checkpoint_state.keys() & model_state.keys()
    mismatch = {k for k in common if checkpoint_state[k].shape != model_state[k].shape}
    return {
        'loaded': sorted(common - mismatch),
        'shape_mismatch': sorted(mismatch),
        'missing': sorted(model_state.keys() - checkpoint_state.keys()),
        'unexpected': sorted(checkpoint_state.keys() - model_state.keys()),
    }


@HOOKS.register_module()
class CheckpointLoadReportHook(Hook):
    """After ``load_from`` or ``resume`` reads a checkpoint, log one summary of the match.

    Fine-tuning from a checkpoint trained on other classes skips the old head (its shape
    differs); the summary names those keys, and any missing or unexpected ones, so that a
    wrong checkpoint (say, for another architecture) is seen at once rather than as a model
    that silently trains from scratch.

    Args:
        max_keys (int): Keys listed per group before "...". Defaults to 10.
    """

    priority = 'VERY_LOW'

    def __init__(self, max_keys: int = 10) -> None:
        self.max_keys = max_keys

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint with the model and log the result.

        :class:`~mmtl.engine.MMTLRunner` checks the fit itself (and refuses a checkpoint that
        does not fit, see :mod:`mmtl.engine.checkpoint_fit`), so this hook reports only
        under other runners.
        """
        if getattr(runner, 'reports_checkpoint_fit', False):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = checkpoint.get('state_dict', checkpoint)
        model_state = model.state_dict()
        groups = compare_state_dicts(state, model_state)
        lines = [f'checkpoint weights: {len(groups["loaded"])} tensors loaded']
        if groups['shape_mismatch']:
            shapes = [
                f'{k} {tuple(state.get(k, state.get("module." + k)).shape)} -> '
                f'{tuple(model_state[k].shape)}'
                for k in groups['shape_mismatch']
            ]
            lines.append(
                f'{len(shapes)} skipped, shape differs (kept at initial values): '
                f'{self._listing(shapes)}'
            )
        for name in ('missing', 'unexpected'):
            if groups[name]:
                lines.append(f'{len(groups[name])} {name}: {self._listing(groups[name])}')
        level = logging.WARNING if len(lines) > 1 else logging.INFO
        runner.logger.log(level, '; '.join(lines))

    def _listing(self, items: List[str]) -> str:
        shown = ', '.join(items[: self.max_keys])
        return shown + (', ...' if len(items) > self.max_keys else '')
