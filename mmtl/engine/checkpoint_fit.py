"""Does a checkpoint fit the model? Checked before its weights are used.

Two uses, two rules:

- **evaluation** (``tools/test.py``, ``mim test``, ``dist_test.sh``, ``init_model``) and
  **resume**: every tensor of the model must come from the checkpoint, with its shape, and
  the checkpoint may hold no others (a BatchNorm's ``num_batches_tracked`` may be missing).
  Anything else is refused in one line: counts of missing, unexpected and other-shape
  tensors, the first names, and what the checkpoint was trained as.
- **transfer** (``load_from`` when training): the head may differ (new classes: its tensors
  keep their initial values; one INFO line says so), but the backbone must load (almost)
  fully, else training would start from random weights. ``load_from_partial=True`` in the
  config allows a partial load (logged as a warning).

Non-finite (NaN/Inf) tensors are refused in both uses when they would be loaded.
"""

import math
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from mmtl.utils.checkpoint_config import EmbeddedConfigError, embedded_config
from mmtl.utils.cli import ConfigError

#: The config key that allows ``load_from`` to load only part of the backbone.
PARTIAL_LOAD_KEY = 'load_from_partial'
#: Share of the model's backbone tensors a transfer must load (with the right shape).
MIN_BACKBONE_FRACTION = 0.95
#: Names of the backbone / head sub-modules of mmpretrain's classifiers.
BACKBONE_PREFIX = 'backbone.'
HEAD_PREFIX = 'head.'
#: Model tensors a checkpoint may lack (written by newer torch versions only).
OPTIONAL_SUFFIXES = ('num_batches_tracked',)
#: Names listed per group in a message.
SHOWN = 3
#: mmengine's default key revision: weights saved from a wrapped model.
DEFAULT_REVISE_KEYS = ((r'^module\.', ''),)


class CheckpointFitError(ConfigError):
    """A checkpoint's tensors do not fit the model (or hold NaN/Inf)."""


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
    """

    loaded: List[str] = field(default_factory=list)
    other_shape: Dict[str, Tuple[tuple, tuple]] = field(default_factory=dict)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    non_finite: List[str] = field(default_factory=list)
    model_keys: List[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether every model tensor loads and nothing is left over."""
        return not (self.other_shape or self.missing or self.unexpected)

    def fraction_loaded(self, prefix: str) -> Tuple[int, int]:
        """``(loaded, total)`` model tensors under ``prefix``."""
        total = [k for k in self.model_keys if k.startswith(prefix) and not _optional(k)]
        return sum(k in self._loaded_set for k in total), len(total)

    @property
    def _loaded_set(self) -> set:
        return set(self.loaded)

    def summary(self) -> str:
        """``'2 missing (head.fc.weight, ...), 0 unexpected, 1 of another shape (...)'``."""
        parts = [
            _group('missing', self.missing),
            _group('unexpected', self.unexpected),
            _group(
                'of another shape',
                [
                    f'{k}: checkpoint {list(a)}, model {list(b)}'
                    for k, (a, b) in self.other_shape.items()
                ],
            ),
        ]
        return f'{len(self.loaded)} of {len(self.model_keys)} model tensors fit; ' + ', '.join(
            parts
        )


def _optional(key: str) -> bool:
    return key.endswith(OPTIONAL_SUFFIXES)


def _group(name: str, items: Sequence[str]) -> str:
    shown = ', '.join(items[:SHOWN]) + (', ...' if len(items) > SHOWN else '')
    return f'{len(items)} {name}' + (f' ({shown})' if items else '')


def checkpoint_state_dict(checkpoint: Mapping) -> Mapping[str, Any]:
    """The weights of a checkpoint: its ``state_dict``, or the mapping itself."""
    state = checkpoint.get('state_dict', checkpoint)
    return state if isinstance(state, Mapping) else {}


def revise(state: Mapping[str, Any], revise_keys: Sequence = DEFAULT_REVISE_KEYS) -> Dict:
    """Apply mmengine's ``revise_keys`` (pattern, replacement) pairs to the key names."""
    revised = dict(state)
    for pattern, replacement in revise_keys:
        revised = {re.sub(pattern, replacement, k): v for k, v in revised.items()}
    return revised


def non_finite_tensors(state: Mapping[str, Any], keys: Optional[Sequence[str]] = None) -> List:
    """Names of floating-point tensors (among ``keys``) that hold NaN or Inf."""
    names = state.keys() if keys is None else keys
    bad = []
    for name in names:
        value = state.get(name)
        if torch.is_tensor(value) and value.is_floating_point() and value.numel():
            if not bool(torch.isfinite(value).all()):
                bad.append(name)
    return sorted(bad)


def compare_checkpoint(
    checkpoint: Mapping,
    model_state: Mapping[str, torch.Tensor],
    revise_keys: Sequence = DEFAULT_REVISE_KEYS,
) -> CheckpointFit:
    """Sort the checkpoint's tensors by what loading them into the model does.

    Args:
        checkpoint (Mapping): A loaded checkpoint (with ``state_dict``) or a state dict.
        model_state (Mapping): The model's ``state_dict()``.
        revise_keys (Sequence): Key revisions applied before matching (mmengine's).

    Returns:
        CheckpointFit: The groups, each sorted.
    """
    state = revise(checkpoint_state_dict(checkpoint), revise_keys)
    common = state.keys() & model_state.keys()
    other = {
        k: (tuple(state[k].shape), tuple(model_state[k].shape))
        for k in common
        if torch.is_tensor(state[k]) and state[k].shape != model_state[k].shape
    }
    loaded = sorted(common - other.keys())
    return CheckpointFit(
        loaded=loaded,
        other_shape=dict(sorted(other.items())),
        missing=sorted(k for k in model_state.keys() - state.keys() if not _optional(k)),
        unexpected=sorted(state.keys() - model_state.keys()),
        non_finite=non_finite_tensors(state, loaded),
        model_keys=sorted(model_state.keys()),
    )


# --------------------------------------------------------------------------------------------
# What was the checkpoint trained as?
# --------------------------------------------------------------------------------------------

#: Backbone arguments worth naming next to the type.
ARCH_ARGS = ('depth', 'arch', 'widen_factor')


def trained_as(checkpoint: Mapping, source: str) -> Optional[str]:
    """A short description of the model a checkpoint was trained as, when it can be told.

    From the config in ``meta`` (read as data, see :mod:`mmtl.utils.checkpoint_config`),
    else from the key layout (a torchvision model, or one of mmtl's base models).
    """
    try:
        cfg = embedded_config(checkpoint, source)
    except EmbeddedConfigError:
        cfg = None
    model = (cfg or {}).get('model') or {}
    if isinstance(model, Mapping) and model.get('backbone'):
        backbone = model['backbone']
        args = ', '.join(f'{a}={backbone[a]!r}' for a in ARCH_ARGS if a in backbone)
        head = model.get('head') or {}
        classes = f', {head["num_classes"]} classes' if 'num_classes' in head else ''
        return f'trained as {backbone.get("type")}({args}){classes} (config in its meta)'
    guess = guess_architecture(checkpoint_state_dict(checkpoint))
    return f'looks like {guess}' if guess else None


def guess_architecture(state: Mapping[str, Any]) -> Optional[str]:
    """Name the architecture of a state dict from its keys and shapes, or None."""
    from mmtl.models.converters import detect_torchvision_arch

    try:
        arch = detect_torchvision_arch(state)
    except Exception:  # not a torchvision layout
        arch = None
    if arch:
        return f'torchvision {arch}'
    backbone = {k: v for k, v in state.items() if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        return None
    best, best_score = None, 0.0
    for name, signature in base_model_signatures().items():
        matching = sum(
            k in signature and tuple(v.shape) == signature[k]
            for k, v in backbone.items()
            if torch.is_tensor(v)
        )
        score = matching / max(len(signature), len(backbone))
        if score > best_score:
            best, best_score = name, score
    return f"mmtl's {best} (backbone layout)" if best_score >= 0.9 else None


_SIGNATURES: Dict[str, Dict[str, tuple]] = {}


def base_model_signatures() -> Dict[str, Dict[str, tuple]]:
    """Backbone ``{key: shape}`` of each of mmtl's base models (built on the meta device)."""
    if _SIGNATURES:
        return _SIGNATURES
    import glob

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmtl.registry import MODELS
    from mmtl.utils.config import packaged_config_dirs

    signatures = {}
    for config_dir in packaged_config_dirs()[:1]:
        for path in sorted(glob.glob(osp.join(config_dir, '_base_', 'models', '*.py'))):
            backbone = Config.fromfile(path).model.get('backbone')
            if not backbone:
                continue
            module = None
            for device in ('meta', 'cpu'):  # meta: no memory; some backbones need real ones
                try:
                    with DefaultScope.overwrite_default_scope('mmtl'), torch.device(device):
                        module = MODELS.build(backbone)
                    break
                except Exception:  # this backbone cannot be built on this device
                    continue
            if module is not None:
                signatures[osp.splitext(osp.basename(path))[0]] = {
                    BACKBONE_PREFIX + k: tuple(v.shape) for k, v in module.state_dict().items()
                }
    _SIGNATURES.update(signatures)
    return _SIGNATURES


# --------------------------------------------------------------------------------------------
# The two rules
# --------------------------------------------------------------------------------------------


def _refusal(source: str, what: str, fit: CheckpointFit, checkpoint: Mapping, hint: str) -> str:
    origin = trained_as(checkpoint, source)
    origin = f'; {origin}' if origin else ''
    return f'checkpoint {source} {what}: {fit.summary()}{origin}. {hint}'


def _refuse_non_finite(source: str, fit: CheckpointFit) -> None:
    if fit.non_finite:
        raise CheckpointFitError(
            f'checkpoint {source} holds NaN/Inf values in {_group("tensor(s)", fit.non_finite)}'
            f'; its predictions would be NaN (was it saved after training diverged?)'
        )


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


def check_exact_fit(
    checkpoint: Mapping,
    model_state: Mapping[str, torch.Tensor],
    source: str,
    purpose: str = 'testing',
    revise_keys: Sequence = DEFAULT_REVISE_KEYS,
) -> CheckpointFit:
    """Refuse a checkpoint that does not give every model tensor (evaluation, resume).

    Args:
        checkpoint (Mapping): The loaded checkpoint.
        model_state (Mapping): The model's ``state_dict()``.
        source (str): The checkpoint's path, for the message.
        purpose (str): ``'testing'``, ``'inference'`` or ``'resuming'`` (for the message).
        revise_keys (Sequence): mmengine's key revisions.

    Returns:
        CheckpointFit: The (exact) match.

    Raises:
        CheckpointFitError: One line: counts, first names, what it was trained as.
    """
    fit = compare_checkpoint(checkpoint, model_state, revise_keys)
    if not fit.exact:
        raise CheckpointFitError(
            _refusal(
                source,
                f'does not fit the model built from the config (for {purpose})',
                fit,
                checkpoint,
                _exact_fit_hint(fit),
            )
        )
    _refuse_non_finite(source, fit)
    return fit


def check_transfer_fit(
    checkpoint: Mapping,
    model_state: Mapping[str, torch.Tensor],
    source: str,
    allow_partial: bool = False,
    revise_keys: Sequence = DEFAULT_REVISE_KEYS,
) -> Tuple[CheckpointFit, str, bool]:
    """Check a ``load_from`` checkpoint for fine-tuning: the backbone must (almost) all load.

    Args:
        checkpoint (Mapping): The loaded checkpoint.
        model_state (Mapping): The model's ``state_dict()``.
        source (str): The checkpoint's path, for messages.
        allow_partial (bool): ``load_from_partial`` from the config: accept a backbone
            that loads only in part (a warning instead of an error).
        revise_keys (Sequence): mmengine's key revisions.

    Returns:
        tuple: The match, one log line, and whether that line is a warning.

    Raises:
        CheckpointFitError: The backbone does not load (in one line, naming what the
            checkpoint looks like), or loaded tensors hold NaN/Inf.
    """
    fit = compare_checkpoint(checkpoint, model_state, revise_keys)
    _refuse_non_finite(source, fit)
    prefix = BACKBONE_PREFIX if any(k.startswith(BACKBONE_PREFIX) for k in fit.model_keys) else ''
    loaded, total = fit.fraction_loaded(prefix)
    share = loaded / total if total else 1.0
    part = f'{loaded} of {total} {prefix.rstrip(".") or "model"} tensors'
    if share < MIN_BACKBONE_FRACTION and not allow_partial:
        raise CheckpointFitError(
            _refusal(
                source,
                f'loads only {part} ({math.floor(share * 100)} %)',
                fit,
                checkpoint,
                f"Training would start from random weights: use a checkpoint of the config's "
                f'architecture, or set {PARTIAL_LOAD_KEY}=True to allow a partial load.',
            )
        )
    return fit, transfer_report(fit, source, part), _needs_warning(fit, share)


def _needs_warning(fit: CheckpointFit, share: float) -> bool:
    """Whether anything beyond the expected head swap happened."""
    outside_head = [
        k
        for k in [*fit.other_shape, *fit.missing, *fit.unexpected]
        if not k.startswith(HEAD_PREFIX)
    ]
    return bool(outside_head) or share < MIN_BACKBONE_FRACTION


def _shapes(fit: CheckpointFit, keys: Sequence[str]) -> List[str]:
    return [f'{k} {fit.other_shape[k][0]} -> {fit.other_shape[k][1]}' for k in keys]


def transfer_report(fit: CheckpointFit, source: str, part: str) -> str:
    """One line: what a ``load_from`` checkpoint gave the model, the head swap named as such.

    Args:
        fit (CheckpointFit): The match.
        source (str): The checkpoint's path.
        part (str): ``'312 of 312 backbone tensors'``.

    Returns:
        str: ``checkpoint weights: N tensors loaded (...) from SRC; 2 skipped, shape differs
        (the head starts fresh: ...): head.fc.weight (1000, 1280) -> (3, 1280), ...``.
    """
    line = f'checkpoint weights: {len(fit.loaded)} tensors loaded ({part}) from {source}'
    head_note = '(the head starts fresh: new classes, as expected when fine-tuning)'
    head_shape = [k for k in fit.other_shape if k.startswith(HEAD_PREFIX)]
    other_shape = [k for k in fit.other_shape if not k.startswith(HEAD_PREFIX)]
    if head_shape:
        line += f'; {len(head_shape)} skipped, shape differs {head_note}: '
        line += ', '.join(_shapes(fit, head_shape))
    if other_shape:
        line += f'; {len(other_shape)} skipped, shape differs (kept at initial values): '
        line += _listing(_shapes(fit, other_shape))
    head_missing = [k for k in fit.missing if k.startswith(HEAD_PREFIX)]
    other_missing = [k for k in fit.missing if not k.startswith(HEAD_PREFIX)]
    if head_missing:
        note = head_note if not head_shape else '(head)'
        line += f'; {len(head_missing)} missing {note}: {_listing(head_missing)}'
    if other_missing:
        line += f'; {len(other_missing)} missing (kept at initial values): '
        line += _listing(other_missing)
    if fit.unexpected:
        line += f'; {len(fit.unexpected)} unexpected (unused): {_listing(fit.unexpected)}'
    return line


def _listing(items: Sequence[str], shown: int = 10) -> str:
    return ', '.join(items[:shown]) + (', ...' if len(items) > shown else '')


def drop_executable_meta(checkpoint: dict, source: str, logger: Any = None) -> None:
    """Remove ``meta['config']``: mmengine's ``Runner.resume`` runs it as Python.

    (mmengine itself writes ``meta['cfg']``, which mmtl only ever reads as data; the
    ``config`` entry comes from older tools, or from someone who wants code run.)
    """
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and 'config' in meta:
        del meta['config']
        if logger is not None:
            logger.warning(
                f'{source}: ignored meta.config (mmengine would run it as Python on resume)'
            )
