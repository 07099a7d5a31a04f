"""torchvision checkpoints on mmtl's load path: normalised, then converted by family.

A torchvision checkpoint is a bare state dict (``conv1.weight``, ``features.0.0.weight``, ...);
the family rules of :mod:`.families` recognise its architecture from its keys and shapes and
rename it into the layout of mmpretrain's model (``backbone.*``, ``head.*``).
"""

import logging
import re
from typing import Mapping, Optional

import torch
from mmengine.logging import print_log

from mmtl.utils.checkpoint_converters import split_checkpoint
from mmtl.utils.prediction_rows import safe_text

from .families import FAMILY_RULES, Conversion, StateDict, convert_layout


def normalize_torchvision_keys(state: Mapping[str, torch.Tensor]) -> StateDict:
    """Undo the variations torchvision checkpoints come with.

    Strips the ``module.`` prefix of (Distributed)DataParallel; renames the DenseNet keys of
    the files torchvision published (``denselayer1.norm.1.weight``) to the names its models use
    today (``denselayer1.norm1.weight``), as torchvision's own loader does; and gives each
    BatchNorm of a file saved before PyTorch 0.4.1 (such as ``vgg16_bn-6c64b313.pth``) the
    ``num_batches_tracked`` counter it lacks (0, which eval-mode BN does not use).

    Args:
        state (Mapping): A state dict.

    Returns:
        dict: The state dict with normalised keys.
    """
    normalized = {}
    for key, value in state.items():
        key = re.sub(
            r'(denselayer\d+\.(?:norm|relu|conv))\.([12])\.', r'\1\2.', key.removeprefix('module.')
        )
        normalized[key] = value
        if key.endswith('.running_var'):  # a saved counter, before or after, wins
            counter = key[: -len('running_var')] + 'num_batches_tracked'
            normalized.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return normalized


def no_family(library: str, state_dict: Mapping, families_text: str) -> ValueError:
    """The error for a ``library`` state dict of no family mmtl converts, naming its first
    keys (escaped: they come from the file)."""
    keys = ', '.join(safe_text(key)[:80] for key in list(state_dict)[:5])
    return ValueError(
        f'not a {library} checkpoint of a family mmtl converts ({families_text}); '
        f'its first keys are: {keys or "none"}'
    )


def convert_torchvision_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Conversion:
    """Convert a torchvision state dict to the layout of mmpretrain's model of its family.

    Args:
        state_dict (Mapping): A torchvision checkpoint (a bare state dict).

    Returns:
        Conversion: The architecture, the converted tensors and the model that takes them.

    Raises:
        ValueError: ``state_dict`` is of no family mmtl converts (one line saying why and, for a
            known family built otherwise than mmpretrain's, which weights to use instead).
    """
    conversion = convert_layout(normalize_torchvision_keys(state_dict), 'torchvision')
    if conversion is None:
        raise no_family('torchvision', state_dict, ', '.join(FAMILY_RULES['torchvision']))
    return conversion


def detect_torchvision_arch(checkpoint) -> Optional[str]:
    """The architecture of a torchvision checkpoint that converts (``'resnet50'``), else None.

    Args:
        checkpoint: Anything loaded from a checkpoint file.
    """
    parts = split_checkpoint(checkpoint)
    if parts is None:
        return None
    try:
        return convert_torchvision_state_dict(parts[0]).arch
    except ValueError:
        return None


def to_mmtl_checkpoint(conversion: Conversion, meta: dict, source: Optional[str]) -> dict:
    """An mmengine checkpoint of ``conversion``, its meta data saying where it came from.

    Args:
        conversion (Conversion): The converted weights.
        meta (dict): Meta data to keep (the original checkpoint's).
        source (str, optional): The file or address the weights came from.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {..., 'converted_from', 'arch', 'base_config' or
        'model', 'source'}}``.
    """
    meta = {**meta, 'converted_from': conversion.library, 'arch': conversion.arch}
    if conversion.base_config:
        meta['base_config'] = conversion.base_config
    else:
        meta['model'] = conversion.model
    if source is not None:
        meta['source'] = source
    return {'state_dict': conversion.state_dict, 'meta': meta}


def log_conversion(source: str, what: str, conversion: Conversion, details: str = '') -> None:
    """Log the load path's line for ``source``, a ``what``, converted as ``conversion``."""
    print_log(
        f'{source} is a {what}: converted its {len(conversion.state_dict)} tensors to the '
        f"layout of mmpretrain's model ({conversion.describe_model()}){details}",
        logger='current',
    )


def torchvision_to_mmtl_checkpoint(
    state_dict: Mapping[str, torch.Tensor], source: Optional[str] = None
) -> dict:
    """Convert a torchvision state dict into an mmengine checkpoint (for converting once).

    Raises:
        ValueError: As :func:`convert_torchvision_state_dict`.
    """
    return to_mmtl_checkpoint(convert_torchvision_state_dict(state_dict), {}, source)


def torchvision_checkpoint_converter(
    state_dict: Mapping[str, torch.Tensor], meta: dict, source: str
) -> Optional[dict]:
    """The checkpoint converter for torchvision files (registered in ``CHECKPOINT_CONVERTERS``).

    Args:
        state_dict (Mapping): The checkpoint's tensors.
        meta (dict): Its meta data (kept in the converted checkpoint's).
        source (str): Its file or address.

    Returns:
        dict | None: The converted mmengine checkpoint; None when ``state_dict`` is of no
        family mmtl converts (with a warning when a family recognised it and refused).
    """
    try:
        conversion = convert_layout(normalize_torchvision_keys(state_dict), 'torchvision')
    except ValueError as err:
        print_log(
            f'{source} is a torchvision checkpoint mmtl does not convert: {err}; it is loaded '
            'unconverted',
            logger='current',
            level=logging.WARNING,
        )
        return None
    if conversion is None:
        return None
    log_conversion(source, f'torchvision {conversion.arch} checkpoint', conversion)
    return to_mmtl_checkpoint(conversion, meta, source)
