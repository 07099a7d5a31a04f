"""Small helpers on ``nn.Module``: the model inside a wrapper, evaluation without gradients,
and sub-modules looked up by their dotted names (with the closest names when one is wrong).

One implementation for every place a user names a module of the model: the frozen modules of
``TransferClassifier`` and ``GradualUnfreezeHook``, the layers of the feature-map and Grad-CAM
tools.
"""

import contextlib
import difflib
from typing import Dict, Iterable, Iterator, Type

import torch
from mmengine.model import is_model_wrapper
from torch import nn

from .errors import ConfigError


def bare_model(model: nn.Module) -> nn.Module:
    """The model itself, inside a DDP (or other mmengine) wrapper if there is one."""
    return model.module if is_model_wrapper(model) else model


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode without gradients, and restore each module's mode after."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, training in modes.items():
            module.training = training


class UnknownModuleError(ConfigError, KeyError):
    """A dotted module name is not a sub-module of the model; the message lists the closest."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''


def find_submodules(
    model: nn.Module,
    names: Iterable[str],
    label: str,
    error: Type[Exception] = UnknownModuleError,
) -> Dict[str, nn.Module]:
    """Look modules of ``model`` up by their dotted names.

    Args:
        model (nn.Module): The model to search.
        names (Iterable[str]): Dotted module names such as ``'backbone.layer1'``.
        label (str): What the names are, starting the error message (``'frozen_modules:'``,
            ``'layer'``).
        error (type): The exception raised for an unknown name. Defaults to
            :class:`UnknownModuleError`.

    Returns:
        dict[str, nn.Module]: The modules, keyed by name, in the order given.

    Raises:
        UnknownModuleError: A name is not a sub-module of ``model`` (or ``error``); the
            message names it, lists the closest names and the top-level modules.
    """
    modules = dict(model.named_modules())
    found = {}
    for name in names:
        if name not in modules:
            named = [key for key in modules if key]
            close = difflib.get_close_matches(name, named, n=5)
            hint = f' Did you mean {close}?' if close else ''
            tops = sorted({key.split('.')[0] for key in named})
            raise error(
                f'{label} {name!r} is not a module of {type(model).__name__}.{hint} '
                f'Names are dotted paths from the model, starting with one of {tops}.'
            )
        found[name] = modules[name]
    return found
