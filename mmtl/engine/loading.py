"""The one way mmtl reads a checkpoint (:func:`read_weights`, through the safe loaders) and
loads it into a model (:func:`load_into`) under one of two rules, NaN/Inf refused:

- ``'exact'`` (testing, inference, resume): every model tensor loads with its shape, nothing
  is left over (``num_batches_tracked`` may be missing);
- ``'transfer'`` (``load_from`` when training): the head may differ, the backbone must load
  (almost) fully unless ``load_from_partial`` is set.
"""

import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.runner import CheckpointLoader

from mmtl.config.model_card import ModelCardError, read_card
from mmtl.models.converters import detect_torchvision_arch  # also adds the converters to the table
from mmtl.models.heads.temperature import prepare_temperature
from mmtl.utils.checkpoint import SAFE_SCHEME_LOADERS, load_local_checkpoint
from mmtl.utils.checkpoint_converters import convert_checkpoint
from mmtl.utils.errors import CheckpointError, ConfigError, short_list
from mmtl.utils.hf_hub import HUB_PREFIX, TIMM_PREFIX, hub_weights_path

PARTIAL_LOAD_KEY = 'load_from_partial'
#: Share of the model's backbone tensors a transfer must load (with the right shape).
MIN_BACKBONE_FRACTION = 0.95
BACKBONE_PREFIX = 'backbone.'
HEAD_PREFIX = 'head.'
#: Model tensors a checkpoint may lack (older torch versions did not write them).
OPTIONAL_SUFFIXES = ('num_batches_tracked',)
SHOWN = 3
DEFAULT_REVISE_KEYS = ((r'^module\.', ''),)
MODES = ('exact', 'transfer')


class CheckpointFitError(CheckpointError, ConfigError):
    """A checkpoint's tensors do not fit the model (or hold NaN/Inf)."""


class UnsupportedSchemeError(CheckpointError, ValueError):
    """A checkpoint address uses a scheme that mmtl has no safe loader for."""


def _converting(loader: Callable) -> Callable:
    """``loader``, then the torchvision/timm layout converted to mmtl's."""

    def load(filename: str, map_location: Any = None, *args, **kwargs) -> Any:
        return convert_checkpoint(loader(filename, map_location=map_location), filename)

    return load


def _load_hub(filename: str, map_location: Any = None, *args, **kwargs) -> Any:
    """``hf-hub:`` / ``timm://``: the file in the hub cache, converted (timm's files beside it)."""
    path = hub_weights_path(filename)
    return convert_checkpoint(load_local_checkpoint(path, map_location=map_location), path)


#: mmengine scheme prefixes -> mmtl's safe, converting loader.
SCHEME_LOADERS: Dict[Tuple[str, ...], Callable] = {
    **{prefixes: _converting(loader) for prefixes, loader in SAFE_SCHEME_LOADERS.items()},
    (HUB_PREFIX, TIMM_PREFIX): _load_hub,
}


def _refuse_scheme(filename: str, map_location: Any = None, *args, **kwargs) -> Any:
    """Loader for a scheme another package registered and mmtl cannot load safely."""
    raise UnsupportedSchemeError(
        f'{filename}: mmtl has no safe loader for this scheme (its own loader could unpickle '
        f'code); download the file and pass its local path instead'
    )


def register_checkpoint_schemes() -> None:
    """Register :data:`SCHEME_LOADERS` in mmengine and refuse every other scheme; run on
    import and before every load, to cover schemes registered later."""
    for prefixes, loader in SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=list(prefixes), loader=loader, force=True)
    mmtl_loaders = set(SCHEME_LOADERS.values()) | {_refuse_scheme}
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if loader not in mmtl_loaders:
            CheckpointLoader.register_scheme(prefixes=prefix, loader=_refuse_scheme, force=True)


def read_weights(source: str, map_location: Any = 'cpu') -> dict:
    """Read a checkpoint through mmtl's safe loaders, in mmtl's layout, without
    ``meta['config']`` (which mmengine's resume would run).

    Args:
        source (str): A local path, an ``http(s)://`` URL, an mmengine scheme or a hub
            reference (``hf-hub:``, ``timm://``).
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint (a torchvision/timm layout converted).

    Raises:
        CheckpointError: The file is unsafe, no checkpoint, not downloadable, or of an
            unsupported scheme (one line).
        FileNotFoundError: A local path that does not exist.
    """
    register_checkpoint_schemes()
    checkpoint = CheckpointLoader.load_checkpoint(
        source, map_location=map_location, logger='silent'
    )
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        meta.pop('config', None)
    return checkpoint


@dataclass
class CheckpointFit:
    """How the tensors of a checkpoint map onto a model's ``state_dict``.

    Attributes:
        loaded (list): Same name and shape.
        other_shape (dict): Same name, another shape: ``name -> (checkpoint, model)``.
        missing (list): In the model only (optional ones excluded).
        unexpected (list): In the checkpoint only.
        non_finite (list): Loaded tensors holding NaN or Inf.
        model_keys (list): Every key of the model.
        report (str): The one line that says what loading did.
        warn (bool): Whether the report is a warning (more than the expected head swap).
    """

    loaded: List[str] = field(default_factory=list)
    other_shape: Dict[str, Tuple[tuple, tuple]] = field(default_factory=dict)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    non_finite: List[str] = field(default_factory=list)
    model_keys: List[str] = field(default_factory=list)
    report: str = ''
    warn: bool = False

    @property
    def exact(self) -> bool:
        return not (self.other_shape or self.missing or self.unexpected)

    def fraction_loaded(self, prefix: str) -> Tuple[int, int]:
        """``(loaded, total)`` model tensors under ``prefix``."""
        loaded = set(self.loaded)
        total = [k for k in self.model_keys if k.startswith(prefix) and not _optional(k)]
        return sum(k in loaded for k in total), len(total)

    def summary(self) -> str:
        """``'310 of 312 model tensors fit; 2 missing (head.fc.weight, ...), ...'``."""
        shapes = [
            f'{k}: checkpoint {list(a)}, model {list(b)}' for k, (a, b) in self.other_shape.items()
        ]
        parts = [
            _group('missing', self.missing),
            _group('unexpected', self.unexpected),
            _group('of another shape', shapes),
        ]
        return f'{len(self.loaded)} of {len(self.model_keys)} model tensors fit; {", ".join(parts)}'


def _optional(key: str) -> bool:
    return key.endswith(OPTIONAL_SUFFIXES)


def _group(name: str, items: Sequence[str]) -> str:
    return f'{len(items)} {name}' + (f' ({short_list(items, SHOWN)})' if items else '')


def checkpoint_state_dict(checkpoint: Mapping) -> Mapping[str, Any]:
    """The weights of a checkpoint: its ``state_dict``, or the mapping itself."""
    state = checkpoint.get('state_dict', checkpoint)
    return state if isinstance(state, Mapping) else {}


def revise(state: Mapping[str, Any], revise_keys: Sequence = DEFAULT_REVISE_KEYS) -> Dict:
    """``state`` with mmengine's ``revise_keys`` (pattern, replacement) applied to its keys."""
    revised = dict(state)
    for pattern, replacement in revise_keys:
        revised = {re.sub(pattern, replacement, k): v for k, v in revised.items()}
    return revised


def compare_checkpoint(state: Mapping[str, Any], model_state: Mapping) -> CheckpointFit:
    """Sort a checkpoint's tensors by what loading them into the model does.

    Args:
        state (Mapping): The checkpoint's state dict, its keys revised as the model's.
        model_state (Mapping): The model's ``state_dict()``.

    Returns:
        CheckpointFit: The groups, each sorted.
    """
    common = state.keys() & model_state.keys()
    other = {
        k: (tuple(getattr(state[k], 'shape', ())), tuple(model_state[k].shape))
        for k in common
        if not torch.is_tensor(state[k]) or state[k].shape != model_state[k].shape
    }
    loaded = sorted(common - other.keys())
    non_finite = [
        k
        for k in loaded
        if state[k].is_floating_point() and state[k].numel() and not torch.isfinite(state[k]).all()
    ]
    return CheckpointFit(
        loaded=loaded,
        other_shape=dict(sorted(other.items())),
        missing=sorted(k for k in model_state.keys() - state.keys() if not _optional(k)),
        unexpected=sorted(state.keys() - model_state.keys()),
        non_finite=non_finite,
        model_keys=sorted(model_state.keys()),
    )


def _refusal(source: str, what: str, fit: CheckpointFit, checkpoint: Mapping, hint: str) -> str:
    """The refusal line, with what the checkpoint was trained as when its card or keys tell."""
    try:
        card = read_card(checkpoint, source)
    except ModelCardError:
        card = None
    if card is not None:
        origin = (
            f'; trained as {card.architecture} with {card.num_classes} classes (its model card)'
        )
    else:
        arch = detect_torchvision_arch(checkpoint_state_dict(checkpoint))
        origin = f'; looks like torchvision {arch}' if arch else ''
    return f'checkpoint {source} {what}: {fit.summary()}{origin}. {hint}'


def _exact_fit_hint(fit: CheckpointFit) -> str:
    """Advice for a checkpoint that does not fit: the class count when only the head differs."""
    head_only = not (fit.missing or fit.unexpected) and all(
        k.startswith(HEAD_PREFIX) for k in fit.other_shape
    )
    biases = [shapes for k, shapes in fit.other_shape.items() if k.endswith('.bias')]
    if head_only and biases and len(biases[-1][0]) == 1:
        trained, built = biases[-1][0][0], biases[-1][1][0]
        return (
            f'It was trained for {trained} classes and the config builds {built}: set '
            f'model.head.num_classes={trained}, or use the checkpoint of this config.'
        )
    return 'Use the config it was trained with (or the checkpoint of this config).'


def _check_exact(fit: CheckpointFit, checkpoint: Mapping, source: str, purpose: str) -> None:
    if not fit.exact:
        what = f'does not fit the model built from the config (for {purpose})'
        raise CheckpointFitError(_refusal(source, what, fit, checkpoint, _exact_fit_hint(fit)))
    fit.report = f'checkpoint weights: all {len(fit.loaded)} tensors loaded from {source}'


def _check_transfer(
    fit: CheckpointFit, checkpoint: Mapping, source: str, allow_partial: bool
) -> None:
    prefix = BACKBONE_PREFIX if any(k.startswith(BACKBONE_PREFIX) for k in fit.model_keys) else ''
    loaded, total = fit.fraction_loaded(prefix)
    share = loaded / total if total else 1.0
    part = f'{loaded} of {total} {prefix.rstrip(".") or "model"} tensors'
    if share < MIN_BACKBONE_FRACTION and not allow_partial:
        what = f'loads only {part} ({math.floor(share * 100)} %)'
        hint = (
            "Training would start from random weights: use a checkpoint of the config's "
            f'architecture, or set {PARTIAL_LOAD_KEY}=True to allow a partial load.'
        )
        raise CheckpointFitError(_refusal(source, what, fit, checkpoint, hint))
    outside_head = [
        k
        for k in [*fit.other_shape, *fit.missing, *fit.unexpected]
        if not k.startswith(HEAD_PREFIX)
    ]
    fit.report = transfer_report(fit, source, part)
    fit.warn = bool(outside_head) or share < MIN_BACKBONE_FRACTION


def _shapes(fit: CheckpointFit, keys: Sequence[str]) -> List[str]:
    return [f'{k} {fit.other_shape[k][0]} -> {fit.other_shape[k][1]}' for k in keys]


def transfer_report(fit: CheckpointFit, source: str, part: str) -> str:
    """One line: what a transfer load gave the model, the head swap named as such.

    Args:
        fit (CheckpointFit): The match.
        source (str): The checkpoint's path.
        part (str): ``'312 of 312 backbone tensors'``.

    Returns:
        str: ``checkpoint weights: N tensors loaded (...) from SRC; 2 skipped, ...``.
    """
    head_note = '(the head starts fresh: new classes, as expected when fine-tuning)'
    kept = '(kept at initial values)'
    head_shape = [k for k in fit.other_shape if k.startswith(HEAD_PREFIX)]
    head_missing = [k for k in fit.missing if k.startswith(HEAD_PREFIX)]
    groups = [
        (f'skipped, shape differs {head_note}', _shapes(fit, head_shape), len(head_shape)),
        (
            f'skipped, shape differs {kept}',
            _shapes(fit, [k for k in fit.other_shape if not k.startswith(HEAD_PREFIX)]),
            10,
        ),
        (f'missing {"(head)" if head_shape else head_note}', head_missing, 10),
        (f'missing {kept}', [k for k in fit.missing if not k.startswith(HEAD_PREFIX)], 10),
        ('unexpected (unused)', fit.unexpected, 10),
    ]
    line = f'checkpoint weights: {len(fit.loaded)} tensors loaded ({part}) from {source}'
    for what, items, shown in groups:
        if items:
            line += f'; {len(items)} {what}: {short_list(items, shown)}'
    return line


def _as_the_model_loads_it(model: torch.nn.Module, state: Dict[str, Any]) -> Dict[str, Any]:
    """``state`` after the model's own load hooks (a ViT resizes its position embedding)."""
    state = dict(state)
    for name, module in model.named_modules():
        for hook in module._load_state_dict_pre_hooks.values():
            hook(state, f'{name}.' if name else '', {}, False, [], [], [])
    return state


def load_into(
    model: torch.nn.Module,
    checkpoint: Union[str, Mapping],
    mode: str = 'exact',
    *,
    source: Optional[str] = None,
    purpose: str = 'testing',
    allow_partial: bool = False,
    revise_keys: Sequence = DEFAULT_REVISE_KEYS,
    logger: Any = None,
) -> CheckpointFit:
    """Check that a checkpoint fits ``model`` under ``mode``'s rule, then load it.

    Args:
        model (torch.nn.Module): The (unwrapped) model.
        checkpoint (str | Mapping): A path, URL or hub reference, or a checkpoint read by
            :func:`read_weights`.
        mode (str): ``'exact'`` or ``'transfer'`` (see the module's docstring).
        source (str, optional): The checkpoint's name in messages. Defaults to the path.
        purpose (str): ``'testing'``, ``'inference'`` or ``'resuming'`` (exact rule).
        allow_partial (bool): Transfer only: accept a backbone that loads in part.
        revise_keys (Sequence): mmengine's key revisions (``module.`` stripped by default).
        logger (logging.Logger, optional): Where the report goes. Defaults to None.

    Returns:
        CheckpointFit: The match, with its ``report`` line.

    Raises:
        CheckpointFitError: The checkpoint does not fit under the rule, or a tensor to load
            holds NaN/Inf.
        ValueError: ``mode`` is not one of :data:`MODES`.
    """
    if mode not in MODES:
        raise ValueError(f'load_into: mode must be one of {MODES}, got {mode!r}')
    if isinstance(checkpoint, str):
        source = source or checkpoint
        checkpoint = read_weights(checkpoint)
    source = source or 'the checkpoint'
    state = checkpoint_state_dict(checkpoint)
    prepared = _as_the_model_loads_it(model, revise(state, revise_keys))
    if mode == 'exact':  # a calibrated checkpoint brings its temperature (head.temperature)
        prepare_temperature(model, prepared, source)
    fit = compare_checkpoint(prepared, model.state_dict())
    if mode == 'exact':
        _check_exact(fit, checkpoint, source, purpose)
    else:
        _check_transfer(fit, checkpoint, source, allow_partial)
    if fit.non_finite:
        raise CheckpointFitError(
            f'checkpoint {source} holds NaN/Inf values in {_group("tensor(s)", fit.non_finite)}'
            f'; its predictions would be NaN (was it saved after training diverged?)'
        )
    weights = OrderedDict((k, prepared[k]) for k in fit.loaded)
    # Module versions (e.g. BatchNorm's) travel with the weights, as in torch's own format.
    weights._metadata = revise(getattr(state, '_metadata', None) or {}, revise_keys)
    model.load_state_dict(weights, strict=False)
    if logger is not None:
        logger.log(logging.WARNING if fit.warn else logging.INFO, fit.report)
    return fit


register_checkpoint_schemes()
