"""timm checkpoints on mmtl's load path: converted by family, with their ``pretrained_cfg``.

timm's weights are in timm's own layouts (converted by the timm rules of :mod:`.families`)
or, for its ResNets and DenseNets, in torchvision's. A checkpoint is known to come from timm by
its layout, by the ``config.json`` beside it or by its hub cache folder
(``models--timm--<name>``); its ``pretrained_cfg`` (mean, std, input size) travels in the
converted meta data, for :class:`~mmtl.engine.hooks.PretrainedNormalizationHook`.
"""

import logging
import re
from typing import Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

from mmtl.utils.hf_hub import read_hub_config

from .families import FAMILY_RULES, Conversion, convert_layout
from .torchvision import (
    log_conversion,
    no_family,
    normalize_torchvision_keys,
    to_mmtl_checkpoint,
)

#: A timm model name, tag or interpolation as mmtl accepts it from a file.
_NAME = re.compile(r'[\w.\-]{1,200}', re.ASCII)
_HUB_FOLDER = re.compile(r'models--timm--([\w.\-]{1,200})', re.ASCII)
#: What the timm converter converts, for its messages.
_CONVERTS = f"{', '.join(FAMILY_RULES['timm'])}, and torchvision's layout"


def _numbers(value, lengths: Tuple[int, ...], low: float, high: float) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) in lengths
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high
            for v in value
        )
    )


#: The pretrained_cfg keys mmtl keeps with the converted weights, and the values it accepts
#: (``config.json`` comes from outside: anything else is dropped).
PRETRAINED_CFG_CHECKS = {
    'input_size': lambda v: _numbers(v, (3,), 1, 65536) and all(isinstance(x, int) for x in v),
    'mean': lambda v: _numbers(v, (1, 3), 0.0, 255.0),
    'std': lambda v: _numbers(v, (1, 3), 1e-6, 255.0),
    'interpolation': lambda v: isinstance(v, str) and bool(_NAME.fullmatch(v)),
    'crop_pct': lambda v: _numbers([v], (1,), 0.01, 1.0),
}


def timm_origin(source: str) -> Tuple[Optional[str], Optional[dict]]:
    """The timm model name and ``pretrained_cfg`` known for the file ``source``.

    Args:
        source (str): The checkpoint's path (or address).

    Returns:
        tuple: ``(model_name, pretrained_cfg)``, each None when unknown. The name is
        ``<architecture>.<tag>`` (``resnet50.a1_in1k``) from ``config.json`` beside the file,
        else the hub cache folder's name.
    """
    name, pretrained_cfg = None, None
    config = read_hub_config(source) if '://' not in source else None
    architecture = config.get('architecture') if config else None
    if isinstance(architecture, str) and _NAME.fullmatch(architecture):
        pretrained_cfg = config.get('pretrained_cfg', config)  # older files: one flat dict
        pretrained_cfg = pretrained_cfg if isinstance(pretrained_cfg, Mapping) else {}
        tag = pretrained_cfg.get('tag')
        name = architecture + (f'.{tag}' if isinstance(tag, str) and _NAME.fullmatch(tag) else '')
    folder = _HUB_FOLDER.search(source)
    if folder:
        name = folder.group(1)
    if pretrained_cfg is None and name is not None:
        pretrained_cfg = _timm_default_cfg(name)
    if pretrained_cfg is not None:
        pretrained_cfg = {
            k: v
            for k, check in PRETRAINED_CFG_CHECKS.items()
            if (v := pretrained_cfg.get(k)) is not None and check(v)
        }
        pretrained_cfg = {'model': name, **pretrained_cfg} if name else pretrained_cfg
    return name, pretrained_cfg or None


def _timm_default_cfg(name: str) -> Optional[dict]:
    """timm's own ``default_cfgs`` entry for ``name``, when timm is installed (optional)."""
    try:
        from timm.models import get_pretrained_cfg

        cfg = get_pretrained_cfg(name)
    except (ImportError, RuntimeError):  # no timm; a known architecture with an unknown tag
        return None
    return cfg.to_dict() if cfg is not None else None


def convert_timm_state_dict(
    state_dict: Mapping[str, torch.Tensor], from_timm: bool = True
) -> Optional[Conversion]:
    """Convert a timm state dict to the layout of mmpretrain's model of its family.

    Args:
        state_dict (Mapping): A timm checkpoint (a bare state dict).
        from_timm (bool): Whether it is known to be timm's; then torchvision's layout (timm's
            ResNets, DenseNets) converts too. Defaults to True.

    Returns:
        Conversion | None: None when ``state_dict`` is of no family mmtl converts; its
        ``library`` is the layout converted (``'torchvision'`` for timm's ResNets).

    Raises:
        ValueError: A family recognised it but cannot convert it (says what to use instead).
    """
    state = normalize_torchvision_keys(state_dict)
    conversion = convert_layout(state, 'timm')
    if conversion is None and from_timm:
        conversion = convert_layout(state, 'torchvision')
    return conversion


def _meta(conversion: Conversion, meta: dict, source: Optional[str], origin: tuple) -> dict:
    name, pretrained_cfg = origin
    checkpoint = to_mmtl_checkpoint(conversion, meta, source)
    checkpoint['meta'].update(converted_from='timm', timm_model=name or conversion.arch)
    if pretrained_cfg:
        checkpoint['meta']['pretrained_cfg'] = pretrained_cfg
    return checkpoint


def convert_if_timm(
    state_dict: Mapping[str, torch.Tensor], meta: dict, source: str
) -> Optional[dict]:
    """The checkpoint converter for timm files (registered in ``CHECKPOINT_CONVERTERS``).

    Args:
        state_dict (Mapping): The checkpoint's tensors.
        meta (dict): Its meta data.
        source (str): Its file or address.

    Returns:
        dict | None: The converted mmengine checkpoint; the unconverted one (with a warning)
        when it is known to be timm's but does not convert; None when it is not a timm
        checkpoint mmtl can tell (torchvision's converter then gets it).
    """
    origin = timm_origin(source)  # reads the config.json beside the file: once
    name = origin[0]
    try:
        conversion = convert_timm_state_dict(state_dict, from_timm=name is not None)
        reason = 'its keys are of no family mmtl converts'
    except ValueError as err:
        conversion, reason = None, str(err)
        name = name or "in timm's layout"
    if conversion is None:
        if name is None:
            return None  # torchvision's layout and nothing says timm: the torchvision converter
        print_log(
            f'{source} is a timm checkpoint ({name}) of none of the architectures mmtl converts '
            f'({_CONVERTS}): {reason}; it is loaded unconverted',
            logger='current',
            level=logging.WARNING,
        )
        return {'state_dict': dict(state_dict), 'meta': meta}
    layout = "timm's own layout" if conversion.library == 'timm' else "torchvision's layout"
    checkpoint = _meta(conversion, meta, source, origin)
    new_meta = checkpoint['meta']
    what = f'timm {new_meta["timm_model"]} checkpoint ({layout})'
    log_conversion(source, what, conversion, _describe_cfg(new_meta.get('pretrained_cfg')))
    return checkpoint


def _describe_cfg(pretrained_cfg: Optional[dict]) -> str:
    if not pretrained_cfg:
        return ''
    parts = []
    if 'input_size' in pretrained_cfg:
        parts.append('trained at ' + 'x'.join(str(s) for s in pretrained_cfg['input_size'][1:]))
    for key in ('mean', 'std'):
        if key in pretrained_cfg:
            parts.append(f'{key} ({", ".join(f"{v:g}" for v in pretrained_cfg[key])})')
    return '; ' + ', '.join(parts) if parts else ''


def timm_to_mmtl_checkpoint(
    state_dict: Mapping[str, torch.Tensor], source: Optional[str] = None
) -> dict:
    """Convert a timm state dict into an mmengine checkpoint (for converting once).

    Args:
        state_dict (Mapping): A timm checkpoint (a bare state dict).
        source (str, optional): Where the weights came from; a ``config.json`` beside it
            gives the ``pretrained_cfg``.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {'converted_from': 'timm', 'arch', 'timm_model',
        'base_config' or 'model', ['source', 'pretrained_cfg']}}``.

    Raises:
        ValueError: ``state_dict`` is of no family mmtl converts (says why).
    """
    conversion = convert_timm_state_dict(state_dict)
    if conversion is None:
        raise no_family('timm', state_dict, _CONVERTS)
    return _meta(conversion, {}, source, timm_origin(source) if source else (None, None))
