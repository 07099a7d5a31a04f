"""Convert timm classification checkpoints to the layout of mmtl's (mmpretrain's) models.

timm's weights (a ``.pth``/``.safetensors`` file, or ``hf-hub:timm/<name>`` through the local
Hugging Face cache) come in two layouts for the architectures of mmtl's base configs:

- ``resnet18/34/50/101`` and ``densenet121``: exactly torchvision's keys and shapes (timm
  builds the same networks), so the torchvision converters apply as they are;
- ``mobilenetv2_100`` (``conv_stem``, ``blocks.<stage>.<block>.{conv_pw,conv_dw,conv_pwl}``,
  ``conv_head``, ``classifier``) and ``vgg16``/``vgg16_bn`` (the first two fully connected
  layers as convolutions, ``pre_logits.fc1`` 7x7 and ``fc2`` 1x1, then ``head.fc``): renamed
  (and the conv-shaped weights reshaped) to torchvision's layout first.

The result is then recognised and converted exactly as a torchvision checkpoint is, against the
keys and shapes of torchvision's model, so timm is not needed at run time. A checkpoint is known
to come from timm by its layout, by the ``config.json`` timm writes beside the weights (its
``architecture`` and ``pretrained_cfg``), or by its hub cache folder (``models--timm--<name>``);
the ``pretrained_cfg`` (mean, std, input size) travels in the converted checkpoint's meta data,
where :class:`~mmtl.engine.hooks.PretrainedNormalizationHook` compares it with the config.
"""

import logging
import re
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

from mmtl.utils.hf_hub import read_hub_config

from .torchvision import (
    TORCHVISION_CONVERTERS,
    StateDict,
    convert_torchvision_state_dict,
    detect_torchvision_arch,
    layout_mismatches,
    normalize_torchvision_keys,
)

#: torchvision architecture -> the timm model of the same network (timm 1.0 names).
TIMM_MODEL_NAMES: Dict[str, str] = {
    'mobilenet_v2': 'mobilenetv2_100',
    'resnet18': 'resnet18',
    'resnet34': 'resnet34',
    'resnet50': 'resnet50',
    'resnet101': 'resnet101',
    'resnet152': 'resnet152',
    'resnext50_32x4d': 'resnext50_32x4d',
    'resnext101_32x8d': 'resnext101_32x8d',
    'resnext101_64x4d': 'resnext101_64x4d',
    'wide_resnet50_2': 'wide_resnet50_2',
    'wide_resnet101_2': 'wide_resnet101_2',
    'vgg11': 'vgg11',
    'vgg11_bn': 'vgg11_bn',
    'vgg13': 'vgg13',
    'vgg13_bn': 'vgg13_bn',
    'vgg16': 'vgg16',
    'vgg16_bn': 'vgg16_bn',
    'vgg19': 'vgg19',
    'vgg19_bn': 'vgg19_bn',
    'densenet121': 'densenet121',
    'densenet161': 'densenet161',
    'densenet169': 'densenet169',
    'densenet201': 'densenet201',
}

#: Keys of the pretrained_cfg that mmtl keeps with the converted weights.
PRETRAINED_CFG_KEYS = ('input_size', 'mean', 'std', 'interpolation', 'crop_pct')

_HUB_FOLDER = re.compile(r'models--timm--([^/\\]+)')

# --------------------------------------------------------------------------------------------
# timm layouts -> torchvision layouts
# --------------------------------------------------------------------------------------------

#: A key only timm's layout of an architecture family has -> the renaming to torchvision's.
TIMM_LAYOUTS: Dict[str, Callable[[Mapping[str, torch.Tensor]], StateDict]] = {}


def register_timm_layout(marker: str) -> Callable:
    """Register a function that renames a timm layout (with key ``marker``) to torchvision's.

    Args:
        marker (str): A key every checkpoint of that timm layout has.

    Returns:
        Callable: A decorator that registers the function and returns it unchanged.
    """

    def decorator(rename: Callable[[Mapping[str, torch.Tensor]], StateDict]) -> Callable:
        TIMM_LAYOUTS[marker] = rename
        return rename

    return decorator


#: Inside timm's first MobileNet-v2 block (a depthwise-separable conv, expansion 1).
_MNV2_SEPARABLE = {'conv_dw': 'conv.0.0', 'bn1': 'conv.0.1', 'conv_pw': 'conv.1', 'bn2': 'conv.2'}
#: Inside timm's other MobileNet-v2 blocks (inverted residuals: expand, depthwise, project).
_MNV2_INVERTED = {
    'conv_pw': 'conv.0.0',
    'bn1': 'conv.0.1',
    'conv_dw': 'conv.1.0',
    'bn2': 'conv.1.1',
    'conv_pwl': 'conv.2',
    'bn3': 'conv.3',
}
_MNV2_TOP = {'conv_stem': 'features.0.0', 'bn1': 'features.0.1', 'classifier': 'classifier.1'}


@register_timm_layout('conv_stem.weight')
def mobilenet_v2_to_torchvision(state: Mapping[str, torch.Tensor]) -> StateDict:
    """timm ``mobilenetv2_100`` -> torchvision ``mobilenet_v2`` key names.

    timm groups the 17 blocks by stage (``blocks.<stage>.<block>``); torchvision numbers them
    ``features.1`` to ``features.17`` after the stem ``features.0`` and before the last 1x1
    conv ``features.18`` (timm's ``conv_head`` + ``bn2``). Keys the renaming does not know
    (say, squeeze-excitation layers of another timm model) are kept, so that recognition
    reports them.

    Args:
        state (Mapping): A timm state dict.

    Returns:
        dict: The state dict with torchvision's key names.
    """
    blocks = sorted(
        {
            tuple(map(int, m.groups()))
            for key in state
            if (m := re.match(r'blocks\.(\d+)\.(\d+)\.', key))
        }
    )
    index = {block: position for position, block in enumerate(blocks, start=1)}
    head = len(blocks) + 1
    renamed = {}
    for key, value in state.items():
        renamed[_mobilenet_v2_key(state, key, index, head)] = value
    return renamed


def _mobilenet_v2_key(state: Mapping, key: str, index: Dict, head: int) -> str:
    block = re.fullmatch(r'blocks\.(\d+)\.(\d+)\.([a-z_]+\d?)\.(.+)', key)
    if block:
        stage, number, module, param = block.groups()
        inverted = f'blocks.{stage}.{number}.conv_pwl.weight' in state
        table = _MNV2_INVERTED if inverted else _MNV2_SEPARABLE
        if module in table:
            return f'features.{index[(int(stage), int(number))]}.{table[module]}.{param}'
        return key
    module, _, param = key.partition('.')
    if module in _MNV2_TOP:
        return f'{_MNV2_TOP[module]}.{param}'
    if module in ('conv_head', 'bn2'):
        return f'features.{head}.{0 if module == "conv_head" else 1}.{param}'
    return key


#: timm VGG's classifier modules -> torchvision's ``classifier.<index>``.
_VGG_CLASSIFIER = {
    'pre_logits.fc1': 'classifier.0',
    'pre_logits.fc2': 'classifier.3',
    'head.fc': 'classifier.6',
}


@register_timm_layout('pre_logits.fc1.weight')
def vgg_to_torchvision(state: Mapping[str, torch.Tensor]) -> StateDict:
    """timm ``vgg16``/``vgg16_bn`` -> torchvision's key names and shapes.

    The conv features are numbered as in torchvision. timm holds the first two fully connected
    layers as convolutions over the 7x7 feature map (``pre_logits.fc1``: 4096x512x7x7,
    ``fc2``: 4096x4096x1x1); flattening their kernels gives torchvision's ``Linear`` weights
    (4096x25088, in the channel-major order in which the feature map is flattened).

    Args:
        state (Mapping): A timm state dict.

    Returns:
        dict: The state dict with torchvision's key names and shapes.
    """
    renamed = {}
    for key, value in state.items():
        module, _, param = key.rpartition('.')
        if module in _VGG_CLASSIFIER:
            if param == 'weight' and value.dim() == 4:
                value = value.reshape(value.shape[0], -1)
            key = f'{_VGG_CLASSIFIER[module]}.{param}'
        renamed[key] = value
    return renamed


def to_torchvision_layout(state: Mapping[str, torch.Tensor]) -> Optional[StateDict]:
    """``state`` renamed to torchvision's layout when it is in one of timm's own layouts.

    Args:
        state (Mapping): A normalised state dict (see
            :func:`~mmtl.models.converters.torchvision.normalize_torchvision_keys`).

    Returns:
        dict | None: The renamed state dict, or None when no timm-only marker key is in it.
    """
    for marker, rename in TIMM_LAYOUTS.items():
        if marker in state:
            return rename(state)
    return None


# --------------------------------------------------------------------------------------------
# Where the weights come from
# --------------------------------------------------------------------------------------------


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
    if config and 'architecture' in config:
        pretrained_cfg = config.get('pretrained_cfg', config)  # older files: one flat dict
        tag = pretrained_cfg.get('tag')
        name = config['architecture'] + (f'.{tag}' if tag else '')
    folder = _HUB_FOLDER.search(source)
    if folder:
        name = folder.group(1)
    if pretrained_cfg is None and name is not None:
        pretrained_cfg = _timm_default_cfg(name)
    if pretrained_cfg is not None:
        pretrained_cfg = {k: pretrained_cfg[k] for k in PRETRAINED_CFG_KEYS if k in pretrained_cfg}
        pretrained_cfg = {'model': name, **pretrained_cfg} if name else pretrained_cfg
    return name, pretrained_cfg or None


def _timm_default_cfg(name: str) -> Optional[dict]:
    """timm's own ``default_cfgs`` entry for ``name``, when timm is installed (optional)."""
    try:
        from timm.models import get_pretrained_cfg
    except ImportError:
        return None
    try:
        cfg = get_pretrained_cfg(name)
    except Exception:  # an unknown name: timm raises or returns None depending on version
        return None
    return cfg.to_dict() if cfg is not None else None


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


def convert_timm_state_dict(
    state_dict: Mapping[str, torch.Tensor], arch: str = 'auto'
) -> Tuple[str, StateDict]:
    """Convert a timm state dict of a supported architecture to mmtl's layout.

    Args:
        state_dict (Mapping): A timm checkpoint (a bare state dict).
        arch (str): torchvision's name of the architecture (a key of
            :data:`TIMM_MODEL_NAMES`), or ``'auto'`` to recognise it.

    Returns:
        tuple[str, dict]: The (torchvision) architecture name and the converted state dict.

    Raises:
        ValueError: ``state_dict`` is no checkpoint of a supported architecture (the message
            lists the first differences).
    """
    state = normalize_torchvision_keys(state_dict)
    state = to_torchvision_layout(state) or state
    try:
        return convert_torchvision_state_dict(state, arch)
    except ValueError as err:
        supported = ', '.join(TIMM_MODEL_NAMES.values())
        raise ValueError(f'timm checkpoint: {err} (timm models converted: {supported})') from None


def _closest_differences(state: Mapping[str, torch.Tensor]) -> Tuple[str, List[str]]:
    differences = {arch: layout_mismatches(state, arch) for arch in TORCHVISION_CONVERTERS}
    closest = min(differences, key=lambda arch: len(differences[arch]))
    return closest, differences[closest]


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
        when it is known to be timm's but of an architecture mmtl does not convert; None when
        it is not a timm checkpoint mmtl can tell (torchvision's converter then gets it).
    """
    if meta.get('converted_from'):
        return None
    name, pretrained_cfg = timm_origin(source)
    state = normalize_torchvision_keys(state_dict)
    renamed = to_torchvision_layout(state)
    if renamed is None and name is None:
        return None  # torchvision's layout and nothing says timm: the torchvision converter
    candidate = state if renamed is None else renamed
    arch = detect_torchvision_arch(candidate)
    if arch is None:
        closest, problems = _closest_differences(candidate)
        print_log(
            f'{source} is a timm checkpoint{f" ({name})" if name else ""} of none of the '
            f'architectures mmtl converts ({", ".join(TIMM_MODEL_NAMES.values())}); it is '
            f'loaded unconverted. Closest: {TIMM_MODEL_NAMES[closest]}, with {len(problems)} '
            f'differences: {"; ".join(problems[:3])}',
            logger='current',
            level=logging.WARNING,
        )
        return {'state_dict': dict(state_dict), 'meta': meta}
    _, converted = convert_torchvision_state_dict(candidate, arch)
    base_config = TORCHVISION_CONVERTERS[arch].base_config
    new_meta = {
        **meta,
        'converted_from': 'timm',
        'arch': arch,
        'timm_model': name or TIMM_MODEL_NAMES[arch],
        'base_config': base_config,
        'source': source,
    }
    if pretrained_cfg:
        new_meta['pretrained_cfg'] = pretrained_cfg
    layout = "timm's own layout" if renamed is not None else "torchvision's layout"
    print_log(
        f'{source} is a timm {new_meta["timm_model"]} checkpoint ({layout}): converted its '
        f"{len(converted)} tensors to the layout of mmpretrain's model (as in "
        f'configs/{base_config}){_describe_cfg(pretrained_cfg)}',
        logger='current',
    )
    return {'state_dict': converted, 'meta': new_meta}


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
    state_dict: Mapping[str, torch.Tensor], arch: str = 'auto', source: Optional[str] = None
) -> dict:
    """Wrap a converted timm state dict as an mmengine checkpoint (for converting once).

    Args:
        state_dict (Mapping): A timm checkpoint (a bare state dict).
        arch (str): torchvision's architecture name, or ``'auto'``. Defaults to ``'auto'``.
        source (str, optional): Where the weights came from; a ``config.json`` beside it
            gives the ``pretrained_cfg``.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {'converted_from': 'timm', 'arch': ...,
        'timm_model': ..., 'base_config': ..., ['source', 'pretrained_cfg']}}``.
    """
    arch, converted = convert_timm_state_dict(state_dict, arch)
    name, pretrained_cfg = timm_origin(source) if source else (None, None)
    meta = {
        'converted_from': 'timm',
        'arch': arch,
        'timm_model': name or TIMM_MODEL_NAMES[arch],
        'base_config': TORCHVISION_CONVERTERS[arch].base_config,
    }
    if source is not None:
        meta['source'] = source
    if pretrained_cfg:
        meta['pretrained_cfg'] = pretrained_cfg
    return {'state_dict': converted, 'meta': meta}
