"""Check, before training resumes, that a checkpoint's optimizer state fits the config's
optimizer: torch loads any optimizer's state into any other, and the first step then fails on a
setting the saved groups lack (``KeyError: 'momentum'``)."""

import functools
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmtl.utils.errors import ConfigError

_NOT_SETTINGS = frozenset(['params', 'param_names'])


class ResumeOptimizerError(ConfigError):
    """The checkpoint's optimizer state cannot be resumed with the config's optimizer."""


@functools.cache
def _torch_optimizer_settings() -> Dict[str, frozenset]:
    """The settings (group keys) of each optimizer class of ``torch.optim``, by name."""
    settings = {}
    for name in torch.optim.__all__:
        cls = getattr(torch.optim, name)
        if not isinstance(cls, type) or not issubclass(cls, torch.optim.Optimizer):
            continue
        try:
            optimizer = cls([torch.nn.Parameter(torch.zeros(2, 2))], lr=1e-3)
        except Exception:  # an optimizer with other needs cannot be told by its settings here
            continue
        settings[name] = frozenset(optimizer.param_groups[0]) - _NOT_SETTINGS
    return settings


def _saved_optimizer_name(saved_keys: frozenset) -> str:
    """The ``torch.optim`` classes whose settings are exactly ``saved_keys``, in words."""
    names = [name for name, keys in _torch_optimizer_settings().items() if keys == saved_keys]
    if names:
        return ' or '.join(names)
    return f'an optimizer with the settings {sorted(saved_keys)}'


def _settings_after_load(optimizer: torch.optim.Optimizer, group: dict) -> frozenset:
    """The settings a saved group has once ``optimizer`` loads it: the saved ones plus those
    the optimizer's ``__setstate__`` defaults (replayed on a copy)."""
    probe = type(optimizer).__new__(type(optimizer))
    probe.__setstate__(
        {'defaults': dict(optimizer.defaults), 'state': {}, 'param_groups': [dict(group)]}
    )
    return frozenset(probe.param_groups[0]) - _NOT_SETTINGS


def _problem(optimizer: torch.optim.Optimizer, saved: dict) -> Optional[str]:
    """Why ``saved`` (an optimizer ``state_dict``) cannot be loaded into ``optimizer``."""
    groups = saved.get('param_groups') if isinstance(saved, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        return 'its optimizer state has no parameter groups'
    own = optimizer.param_groups
    if len(groups) != len(own):
        return (
            f"its optimizer has {len(groups)} parameter groups, the config's "
            f'{type(optimizer).__name__} {len(own)} (another paramwise_cfg or other frozen '
            f'layers)'
        )
    for index, (group, current) in enumerate(zip(groups, own)):
        needed = frozenset(current) - _NOT_SETTINGS
        missing = needed - _settings_after_load(optimizer, group)
        if missing:
            saved_keys = frozenset(group) - _NOT_SETTINGS
            return (
                f'it was saved by {_saved_optimizer_name(saved_keys)}, the config has '
                f'{type(optimizer).__name__}, which needs {", ".join(sorted(missing))}'
            )
        if len(group.get('params', ())) != len(current['params']):
            return (
                f'parameter group {index} of its optimizer holds {len(group["params"])} '
                f"parameters, the config's {len(current['params'])} (another paramwise_cfg "
                f'or other frozen layers)'
            )
    return None


def _pairs(
    optim_wrapper: Union[OptimWrapper, OptimWrapperDict], saved: dict
) -> List[Tuple[str, torch.optim.Optimizer, object]]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return [
            (f' {name!r}', wrapper.optimizer, (saved or {}).get(name))
            for name, wrapper in optim_wrapper.items()
        ]
    return [('', optim_wrapper.optimizer, saved)]


def check_resumable_optimizer(checkpoint: dict, optim_wrapper, filename: str) -> None:
    """Refuse a checkpoint whose optimizer state the config's optimizer cannot take.

    Args:
        checkpoint (dict): The loaded checkpoint (its ``optimizer`` entry is checked).
        optim_wrapper: The run's built ``OptimWrapper`` / ``OptimWrapperDict``; anything
            else (not built yet) is not checked.
        filename (str): The checkpoint, for the message.

    Raises:
        ResumeOptimizerError: The settings, group count or group sizes differ.
    """
    saved = checkpoint.get('optimizer')
    if saved is None or not isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
        return
    for name, optimizer, state in _pairs(optim_wrapper, saved):
        problem = _problem(optimizer, state)
        if problem is not None:
            raise ResumeOptimizerError(
                f'cannot resume the optimizer{name} from {filename}: {problem}. Resume with '
                f'the optimizer of that run, or start a new run from its weights with '
                f'load_from={filename} (without --resume)'
            )
