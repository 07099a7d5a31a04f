"""Convert torchvision classification checkpoints to the layout of mmtl's (mmpretrain's) models.

A torchvision checkpoint is a bare state dict (``conv1.weight``, ``features.0.0.weight``,
``fc.weight``, ...). mmtl's models are mmpretrain ``ImageClassifier`` s whose weights live under
``backbone.*`` and ``head.*``. Each supported architecture registers a converter that renames
the keys (the tensors are kept as they are) into the model built from its base config:

- ``mobilenet_v2``: ``MobileNetV2`` + ``LinearClsHead`` (``_base_/models/mobilenet_v2_1x.py``);
- every ResNet depth (``resnet18/34/50/101/152``), ResNeXt (``resnext50_32x4d``,
  ``resnext101_32x8d``, ``resnext101_64x4d``) and Wide-ResNet (``wide_resnet50_2``,
  ``wide_resnet101_2``): ``ResNet``/``ResNeXt(style='pytorch')`` + ``LinearClsHead``;
- every VGG depth with and without BN (``vgg11/13/16/19[_bn]``): ``VGG`` +
  ``AdaptivePoolFlatten`` + ``StackedLinearClsHead`` with two hidden layers of 4096;
- every DenseNet depth (``densenet121/161/169/201``): ``DenseNet`` + ``LinearClsHead``.

Each converter names the mmtl base model config (``_base_/models/<name>.py``) whose model takes
the converted weights. Architectures whose torchvision structure differs from mmpretrain's
(EfficientNet, MobileNet-v3, RegNet, ConvNeXt, Swin, ViT) are recognised and refused with the
weights to use instead (:data:`UNCONVERTIBLE`).

An architecture is recognised by comparing the checkpoint's keys and shapes with those of the
torchvision model itself (built on the ``meta`` device, so without allocating memory); only the
class count of the final classifier may differ.
"""

import functools
import logging
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torchvision
from mmengine.logging import print_log
from mmpretrain.models.backbones import VGG, MobileNetV2
from torch import nn

StateDict = Dict[str, torch.Tensor]

#: Prefix that ``DataParallel``/``DistributedDataParallel`` add to every key.
_WRAPPER_PREFIX = 'module.'


@dataclass(frozen=True)
class TorchvisionConverter:
    """How one torchvision architecture maps onto mmtl's model.

    Args:
        arch (str): torchvision's name of the architecture (``torchvision.models.<arch>``).
        convert (Callable): Renames a torchvision state dict's keys to the mmpretrain layout.
        classifier (str): Key prefix of torchvision's final ``Linear``; its output size (the
            class count) may differ from the reference model's.
        marker (str): A key every checkpoint of this family has; cheap first test before the
            full comparison of keys and shapes.
        base_config (str): mmtl base model config (under ``configs/``) whose model takes the
            converted weights.
    """

    arch: str
    convert: Callable[[Mapping[str, torch.Tensor]], StateDict]
    classifier: str
    marker: str
    base_config: str

    def build_reference(self) -> nn.Module:
        """The randomly initialised torchvision model of this architecture."""
        return getattr(torchvision.models, self.arch)(weights=None)


#: Converters keyed by torchvision architecture name.
TORCHVISION_CONVERTERS: Dict[str, TorchvisionConverter] = {}


def register_torchvision_converter(
    archs: List[str], classifier: str, marker: str, base_config: Union[str, Dict[str, str]]
) -> Callable:
    """Register a key-renaming function as the converter of each of ``archs``.

    Args:
        archs (list[str]): torchvision architecture names the function converts.
        classifier (str): Key prefix of the final ``Linear`` layer.
        marker (str): A key that every checkpoint of these architectures has.
        base_config (str | dict): Base config path with ``{arch}`` standing for the
            architecture, or one path per architecture.

    Returns:
        Callable: A decorator that registers the function and returns it unchanged.
    """

    def decorator(convert: Callable[[Mapping[str, torch.Tensor]], StateDict]) -> Callable:
        for arch in archs:
            TORCHVISION_CONVERTERS[arch] = TorchvisionConverter(
                arch=arch,
                convert=convert,
                classifier=classifier,
                marker=marker,
                base_config=(
                    base_config[arch]
                    if isinstance(base_config, dict)
                    else base_config.format(arch=arch)
                ),
            )
        return convert

    return decorator


# --------------------------------------------------------------------------------------------
# Converters
# --------------------------------------------------------------------------------------------


def _conv_bn(rest: str) -> str:
    """``0.<param>`` (a conv) -> ``conv.<param>``; ``1.<param>`` (its BN) -> ``bn.<param>``."""
    index, param = rest.split('.', 1)
    return f'{"conv" if index == "0" else "bn"}.{param}'


@register_torchvision_converter(
    [
        'resnet18',
        'resnet34',
        'resnet50',
        'resnet101',
        'resnet152',
        'resnext50_32x4d',
        'resnext101_32x8d',
        'resnext101_64x4d',
        'wide_resnet50_2',
        'wide_resnet101_2',
    ],
    classifier='fc',
    marker='layer1.0.conv1.weight',
    base_config={
        **{f'resnet{d}': f'_base_/models/resnet{d}.py' for d in (18, 34, 50, 101, 152)},
        'resnext50_32x4d': '_base_/models/resnext50_32x4d.py',
        'resnext101_32x8d': '_base_/models/resnext101_32x8d.py',
        'resnext101_64x4d': '_base_/models/resnext101_64x4d.py',
        'wide_resnet50_2': '_base_/models/wide_resnet50.py',
        'wide_resnet101_2': '_base_/models/wide_resnet101.py',
    },
)
def convert_resnet(state: Mapping[str, torch.Tensor]) -> StateDict:
    """torchvision ResNet -> mmpretrain ``ResNet(style='pytorch')`` + ``LinearClsHead``.

    Also ResNeXt (mmpretrain's ``ResNeXt``: grouped 3x3 convs, same names) and Wide-ResNet
    (``ResNet`` with ``base_channels=128, expansion=2``). torchvision's ResNet is mmpretrain's
    ``ResNet`` with ``style='pytorch'`` (the stride on the
    3x3 conv of a bottleneck, one 7x7 stem conv, 1x1 strided downsample convs); ``ResNetV1c``
    (three-conv stem) and ``ResNetV1d`` (average-pool downsample) are other networks. The
    backbones share every name (``conv1``, ``bn1``, ``layerN.M.{conv,bn}K``,
    ``downsample.{0,1}``); only the classifier moves from ``fc`` to ``head.fc``.

    Args:
        state (Mapping): torchvision state dict.

    Returns:
        dict: The state dict in mmpretrain's layout.
    """
    return {
        ('head.' + key if key.startswith('fc.') else 'backbone.' + key): value
        for key, value in state.items()
    }


def _mobilenet_v2_block_names() -> List[str]:
    """mmpretrain's names of the inverted-residual blocks, in torchvision's order."""
    names = []
    for layer, (_, _, num_blocks, _) in enumerate(MobileNetV2.arch_settings, start=1):
        names += [f'layer{layer}.{block}' for block in range(num_blocks)]
    return names


@register_torchvision_converter(
    ['mobilenet_v2'],
    classifier='classifier.1',
    marker='features.18.0.weight',
    base_config='_base_/models/mobilenet_v2_1x.py',
)
def convert_mobilenet_v2(state: Mapping[str, torch.Tensor]) -> StateDict:
    """torchvision MobileNetV2 -> mmpretrain ``MobileNetV2`` + ``LinearClsHead``.

    torchvision numbers its 19 feature modules: ``features.0`` is the stem (mmpretrain
    ``conv1``), ``features.1``-``features.17`` the inverted residuals (``layer1.0`` to
    ``layer7.0``) and ``features.18`` the last 1x1 conv (``conv2``). Inside a block, torchvision's
    conv-BN-ReLU6 modules ``conv.K.{0,1}`` become ``conv.K.{conv,bn}``, and its bare projection
    conv ``conv.K`` with the BN ``conv.(K+1)`` after it become ``conv.K.{conv,bn}``.

    Args:
        state (Mapping): torchvision state dict.

    Returns:
        dict: The state dict in mmpretrain's layout.
    """
    blocks = _mobilenet_v2_block_names()
    last = len(blocks) + 1
    converted = {}
    for key, value in state.items():
        if key.startswith('classifier.1.'):
            converted['head.fc.' + key[len('classifier.1.') :]] = value
            continue
        index, rest = re.fullmatch(r'features\.(\d+)\.(.+)', key).groups()
        index = int(index)
        if index in (0, last):
            name = f'{"conv1" if index == 0 else "conv2"}.{_conv_bn(rest)}'
        else:
            name = f'{blocks[index - 1]}.{_mobilenet_v2_block_part(state, index, rest)}'
        converted['backbone.' + name] = value
    return converted


def _mobilenet_v2_block_part(state: Mapping[str, torch.Tensor], index: int, rest: str) -> str:
    """Rename ``rest`` (the key inside torchvision block ``features.<index>``)."""
    with_act = re.fullmatch(r'conv\.(\d+)\.([01]\..+)', rest)
    if with_act:  # a conv-BN-ReLU6 module
        return f'conv.{with_act.group(1)}.{_conv_bn(with_act.group(2))}'
    position, param = re.fullmatch(r'conv\.(\d+)\.(.+)', rest).groups()
    position = int(position)
    if state[f'features.{index}.conv.{position}.weight'].dim() == 4:  # the projection conv
        return f'conv.{position}.conv.{param}'
    return f'conv.{position - 1}.bn.{param}'  # the BN after it


@register_torchvision_converter(
    [f'vgg{depth}{bn}' for depth in (11, 13, 16, 19) for bn in ('', '_bn')],
    classifier='classifier.6',
    marker='classifier.6.weight',
    base_config='_base_/models/{arch}.py',
)
def convert_vgg(state: Mapping[str, torch.Tensor]) -> StateDict:
    """torchvision VGG -> mmpretrain ``VGG`` + ``AdaptivePoolFlatten`` + ``StackedLinearClsHead``.

    torchvision's ``features`` holds convs, (BNs,) ReLUs and max-pools as separate modules;
    mmpretrain's holds one ``ConvModule`` (``conv``, ``bn``) per conv and a max-pool after each
    stage. The k-th conv therefore moves from its torchvision index to k plus the number of
    stages before it; a BN follows its conv. The classifier's three ``Linear`` layers
    ``classifier.{0,3,6}`` become the head's ``layers.{0,1,2}.fc``. (mmpretrain's ``VGG`` can
    hold the classifier itself, with ``num_classes`` set on the backbone; mmtl keeps it in the
    head instead, so that ``model.head.num_classes`` sets the class count as for every other
    model and fine-tuning replaces only the last layer.)

    Args:
        state (Mapping): torchvision state dict.

    Returns:
        dict: The state dict in mmpretrain's layout.
    """
    conv_indices = sorted(
        int(match.group(1))
        for key, value in state.items()
        if (match := re.fullmatch(r'features\.(\d+)\.weight', key)) and value.dim() == 4
    )
    stage_blocks = VGG.arch_settings[len(conv_indices) + 3]  # + the three Linear layers
    mm_indices = []
    for stage, num_convs in enumerate(stage_blocks):
        first = sum(stage_blocks[:stage]) + stage  # one max-pool after each earlier stage
        mm_indices += range(first, first + num_convs)
    module_names = {}
    for tv_index, mm_index in zip(conv_indices, mm_indices):
        module_names[tv_index] = f'features.{mm_index}.conv'
        module_names[tv_index + 1] = f'features.{mm_index}.bn'  # vgg*_bn only
    converted = {}
    for key, value in state.items():
        part, index, param = re.fullmatch(r'(features|classifier)\.(\d+)\.(.+)', key).groups()
        if part == 'features':
            converted[f'backbone.{module_names[int(index)]}.{param}'] = value
        else:
            converted[f'head.layers.{int(index) // 3}.fc.{param}'] = value
    return converted


#: (pattern at the start of a torchvision DenseNet key, its mmpretrain replacement).
_DENSENET_RULES = (
    (r'features\.conv0\.', lambda m: 'stem.0.'),
    (r'features\.norm0\.', lambda m: 'stem.1.'),
    (
        r'features\.denseblock(\d+)\.denselayer(\d+)\.',
        lambda m: f'stages.{int(m.group(1)) - 1}.block.{int(m.group(2)) - 1}.',
    ),
    (r'features\.transition(\d+)\.', lambda m: f'transitions.{int(m.group(1)) - 1}.'),
    # The final BN (norm5 after four blocks) closes the last "transition" in mmpretrain.
    (r'features\.norm(\d+)\.', lambda m: f'transitions.{int(m.group(1)) - 2}.0.'),
)


def _densenet_rename(key: str) -> str:
    """Rename one (already modernised) torchvision DenseNet key."""
    for pattern, replace in _DENSENET_RULES:
        match = re.match(pattern, key)
        if match:
            return 'backbone.' + replace(match) + key[match.end() :]
    return 'head.fc.' + key[len('classifier.') :]


@register_torchvision_converter(
    ['densenet121', 'densenet161', 'densenet169', 'densenet201'],
    classifier='classifier',
    marker='features.conv0.weight',
    base_config='_base_/models/{arch}.py',
)
def convert_densenet(state: Mapping[str, torch.Tensor]) -> StateDict:
    """torchvision DenseNet -> mmpretrain ``DenseNet`` + ``LinearClsHead``.

    ``features.conv0/norm0`` -> ``stem.0/1``; ``features.denseblockI.denselayerJ`` ->
    ``stages.(I-1).block.(J-1)`` (same ``norm1 conv1 norm2 conv2`` inside);
    ``features.transitionI`` -> ``transitions.(I-1)``; the final ``features.norm5`` ->
    ``transitions.3.0``; ``classifier`` -> ``head.fc``.

    Args:
        state (Mapping): torchvision state dict (modern key names; see
            :func:`normalize_torchvision_keys`).

    Returns:
        dict: The state dict in mmpretrain's layout.
    """
    return {_densenet_rename(key): value for key, value in state.items()}


# --------------------------------------------------------------------------------------------
# Recognising a torchvision checkpoint
# --------------------------------------------------------------------------------------------


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
        if key.startswith(_WRAPPER_PREFIX):
            key = key[len(_WRAPPER_PREFIX) :]
        key = re.sub(r'(denselayer\d+\.(?:norm|relu|conv))\.([12])\.', r'\1\2.', key)
        normalized[key] = value
        if key.endswith('.running_var'):  # a saved counter, before or after, wins
            counter = key[: -len('running_var')] + 'num_batches_tracked'
            normalized.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return normalized


@functools.cache
def reference_shapes(arch: str) -> Dict[str, torch.Size]:
    """Key -> shape of torchvision's ``arch`` state dict (built on the meta device).

    Args:
        arch (str): A key of :data:`TORCHVISION_CONVERTERS`.

    Returns:
        dict: The reference model's keys and tensor shapes.
    """
    with torch.device('meta'):
        model = TORCHVISION_CONVERTERS[arch].build_reference()
    return {key: value.shape for key, value in model.state_dict().items()}


def layout_mismatches(state: Mapping[str, torch.Tensor], arch: str) -> List[str]:
    """How ``state`` differs from torchvision's ``arch``; empty when it is that architecture.

    The final classifier may have any number of classes.

    Args:
        state (Mapping): A normalised state dict (see :func:`normalize_torchvision_keys`).
        arch (str): A key of :data:`TORCHVISION_CONVERTERS`.

    Returns:
        list[str]: One line per missing key, unexpected key and differing shape, in that
        order and in the models' order of layers.
    """
    reference = reference_shapes(arch)
    classifier = TORCHVISION_CONVERTERS[arch].classifier
    head_keys = {f'{classifier}.weight', f'{classifier}.bias'}
    problems = [f'missing key {key}' for key in reference if key not in state]
    problems += [f'unexpected key {key}' for key in state if key not in reference]
    for key, expected in reference.items():
        if key not in state:
            continue
        shape, expected = tuple(state[key].shape), tuple(expected)
        other_class_count = key in head_keys and shape[1:] == expected[1:]
        if shape != expected and not other_class_count:
            problems.append(f'{key} has shape {shape}, expected {expected}')
    return problems


def _is_tensor_dict(obj) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(
            isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in obj.items()
        )
    )


#: torchvision architectures built otherwise than mmpretrain's model of the same family (other
#: layers, padding or block layout), so that no renaming gives the same logits: recognised, and
#: refused naming the mmtl config whose published weights to use instead.
UNCONVERTIBLE: Dict[str, str] = {
    **{
        f'efficientnet_b{i}': (
            f"torchvision's EfficientNet-B{i} pads and orders its layers otherwise than "
            "mmpretrain's TF-ported EfficientNet; use _base_/models/efficientnet_b"
            f'{i}.py with its load_from (pretrained_url)'
        )
        for i in range(4)
    },
    'efficientnet_v2_s': (
        "torchvision's EfficientNetV2-S differs from mmpretrain's TF-ported one; use "
        '_base_/models/efficientnetv2_s.py with its load_from (pretrained_url)'
    ),
    'mobilenet_v3_small': (
        "torchvision's MobileNet-v3-Small is not converted; use "
        '_base_/models/mobilenet_v3_small.py with its load_from (pretrained_url)'
    ),
    'mobilenet_v3_large': (
        "torchvision's MobileNet-v3-Large is not converted; use "
        '_base_/models/mobilenet_v3_large.py with its load_from (pretrained_url)'
    ),
    'regnet_x_400mf': (
        "torchvision's RegNetX-400MF is not pycls's layout that mmpretrain's RegNet loads; use "
        '_base_/models/regnetx_400mf.py with its load_from (pretrained_url)'
    ),
    'convnext_tiny': (
        "torchvision's ConvNeXt-Tiny is not converted; use _base_/models/convnext_tiny.py with its "
        'load_from (pretrained_url)'
    ),
    'swin_t': (
        "torchvision's Swin-T is not converted; use _base_/models/swin_tiny.py with its load_from "
        '(pretrained_url)'
    ),
    'vit_b_16': (
        "torchvision's ViT-B/16 is not converted; use _base_/models/deit3_base_p16.py or "
        'vit_base_p16_clip.py with its load_from (pretrained_url)'
    ),
}


@functools.cache
def _unconvertible_keys(arch: str) -> frozenset:
    build = getattr(torchvision.models, arch)
    try:
        with torch.device('meta'):
            model = build(weights=None)
    except NotImplementedError:  # RegNet computes its widths with tensors: not on meta
        model = build(weights=None)
    return frozenset(model.state_dict())


def unconvertible_reason(state: Mapping[str, torch.Tensor]) -> Optional[str]:
    """Why a torchvision checkpoint of a known but unconvertible architecture is refused.

    Args:
        state (Mapping): A normalised state dict.

    Returns:
        str | None: The reason and the weights to use, or None when ``state`` has the keys of
        none of :data:`UNCONVERTIBLE`.
    """
    keys = set(state)
    for arch, reason in UNCONVERTIBLE.items():
        if keys == _unconvertible_keys(arch):
            return f'a torchvision {arch} checkpoint: {reason}'
    return None


def detect_torchvision_arch(state_dict) -> Optional[str]:
    """Name the torchvision architecture whose checkpoint ``state_dict`` is, if any.

    Args:
        state_dict: Anything loaded from a checkpoint file.

    Returns:
        str | None: A key of :data:`TORCHVISION_CONVERTERS`, or None when ``state_dict`` is not
        a torchvision state dict of a supported architecture (an mmengine checkpoint, say).
    """
    if not _is_tensor_dict(state_dict):
        return None
    state = normalize_torchvision_keys(state_dict)
    for arch, converter in TORCHVISION_CONVERTERS.items():
        if converter.marker in state and not layout_mismatches(state, arch):
            return arch
    return None


def convert_torchvision_state_dict(
    state_dict: Mapping[str, torch.Tensor], arch: str = 'auto'
) -> Tuple[str, StateDict]:
    """Convert a torchvision state dict to the layout of mmtl's model.

    Args:
        state_dict (Mapping): A torchvision checkpoint (a bare state dict).
        arch (str): torchvision architecture name, or ``'auto'`` to recognise it.

    Returns:
        tuple[str, dict]: The architecture and the converted state dict.

    Raises:
        ValueError: The architecture is unknown, or ``state_dict`` is not a checkpoint of it
            (the message lists the first differences).
    """
    if arch == 'auto':
        detected = detect_torchvision_arch(state_dict)
        if detected is None:
            if _is_tensor_dict(state_dict):
                reason = unconvertible_reason(normalize_torchvision_keys(state_dict))
                if reason:
                    raise ValueError(reason)
            keys = ', '.join(list(state_dict)[:5]) if isinstance(state_dict, Mapping) else ''
            raise ValueError(
                'not a torchvision checkpoint of a supported architecture '
                f'({", ".join(TORCHVISION_CONVERTERS)}); its first keys are: {keys or "none"}'
            )
        arch = detected
    if arch not in TORCHVISION_CONVERTERS:
        raise ValueError(
            f'unknown architecture {arch!r}; supported: {", ".join(TORCHVISION_CONVERTERS)}'
        )
    if not _is_tensor_dict(state_dict):
        raise ValueError(f'expected a torchvision state dict (key -> tensor) for {arch}')
    state = normalize_torchvision_keys(state_dict)
    problems = layout_mismatches(state, arch)
    if problems:
        shown = '; '.join(problems[:5]) + ('; ...' if len(problems) > 5 else '')
        raise ValueError(
            f'not a torchvision {arch} checkpoint: {len(problems)} differences: {shown}'
        )
    return arch, TORCHVISION_CONVERTERS[arch].convert(state)


# --------------------------------------------------------------------------------------------
# Whole checkpoints
# --------------------------------------------------------------------------------------------


def torchvision_to_mmtl_checkpoint(
    state_dict: Mapping[str, torch.Tensor], arch: str = 'auto', source: Optional[str] = None
) -> dict:
    """Wrap a converted torchvision state dict as an mmengine checkpoint.

    Args:
        state_dict (Mapping): A torchvision checkpoint (a bare state dict).
        arch (str): torchvision architecture name, or ``'auto'``. Defaults to ``'auto'``.
        source (str, optional): Where the weights came from, kept in the meta data.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {'converted_from': 'torchvision', 'arch': ...,
        'base_config': ..., 'source': ...}}``.
    """
    arch, converted = convert_torchvision_state_dict(state_dict, arch)
    meta = {
        'converted_from': 'torchvision',
        'arch': arch,
        'base_config': TORCHVISION_CONVERTERS[arch].base_config,
    }
    if source is not None:
        meta['source'] = source
    return {'state_dict': converted, 'meta': meta}


def convert_if_torchvision(checkpoint, source: str):
    """Convert ``checkpoint`` when it is a torchvision one; return anything else unchanged.

    This is what lets ``load_from`` (and ``init_model``) take a torchvision ``.pth`` file
    directly. A conversion is logged with the architecture and the file; a checkpoint that
    looks like torchvision's but fits no converter is logged as a warning.

    Args:
        checkpoint: The object loaded from ``source``.
        source (str): The checkpoint's file name or URL, for the log.

    Returns:
        The mmengine checkpoint converted from torchvision's, or ``checkpoint`` itself.
    """
    arch = detect_torchvision_arch(checkpoint)
    if arch is None:
        _warn_if_unsupported_torchvision(checkpoint, source)
        return checkpoint
    converted = torchvision_to_mmtl_checkpoint(checkpoint, arch, source)
    print_log(
        f'{source} is a torchvision {arch} checkpoint: converted its '
        f"{len(converted['state_dict'])} tensors to the layout of mmpretrain's model "
        f'(as in configs/{converted["meta"]["base_config"]})',
        logger='current',
    )
    return converted


def _warn_if_unsupported_torchvision(checkpoint, source: str) -> None:
    """Warn when ``checkpoint`` looks like torchvision's (a marker key) but fits no converter."""
    if not _is_tensor_dict(checkpoint):
        return
    state = normalize_torchvision_keys(checkpoint)
    reason = unconvertible_reason(state)
    if reason:
        print_log(f'{source} is {reason}', logger='current', level=logging.WARNING)
        return
    candidates = [arch for arch, conv in TORCHVISION_CONVERTERS.items() if conv.marker in state]
    if not candidates:
        return
    differences = {arch: layout_mismatches(state, arch) for arch in candidates}
    closest = min(candidates, key=lambda arch: len(differences[arch]))
    problems = differences[closest]
    print_log(
        f'{source} looks like a torchvision checkpoint but is none of the architectures mmtl '
        f'converts ({", ".join(TORCHVISION_CONVERTERS)}); it is loaded unconverted. Closest: '
        f'{closest}, with {len(problems)} differences: {"; ".join(problems[:3])}',
        logger='current',
        level=logging.WARNING,
    )


def torchvision_checkpoint_converter(
    state_dict: Mapping[str, torch.Tensor], meta: dict, source: str
) -> Optional[dict]:
    """The checkpoint converter for torchvision files (registered in ``CHECKPOINT_CONVERTERS``).

    Args:
        state_dict (Mapping): The checkpoint's tensors.
        meta (dict): Its meta data (kept in the converted checkpoint's).
        source (str): Its file or address.

    Returns:
        dict | None: The converted mmengine checkpoint, or None when ``state_dict`` is no
        torchvision checkpoint of a supported architecture.
    """
    if meta.get('converted_from'):
        return None
    converted = convert_if_torchvision(state_dict, source)
    if converted is state_dict:
        return None
    converted['meta'] = {**meta, **converted['meta']}
    return converted
