"""One rule per architecture family: recognise a torchvision or timm state dict, derive the
mmpretrain model it fits from its keys and shapes, and rename its keys to that model's.

A rule returns None when the state dict is not of its family, a :class:`Conversion` when it
converts, and raises ``ValueError`` (one line, naming the weights to use instead) when the
family is recognised but the checkpoint cannot give the same logits in mmpretrain's model.
"""

import re
from dataclasses import dataclass, replace
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.backbones import (
    VGG,
    ConvNeXt,
    DeiT3,
    DenseNet,
    MobileNetV2,
    ResNet,
    SwinTransformer,
    VisionTransformer,
)
from mmpretrain.models.backbones.resnet import Bottleneck
from mmpretrain.models.utils.attention import WindowMSA

from mmtl.config.load import packaged_config_path
from mmtl.utils.prediction_rows import safe_text

StateDict = Dict[str, torch.Tensor]
#: ``(pattern, replacement)``: a key matching ``pattern`` (whole key) is renamed with
#: ``match.expand(replacement)`` or ``replacement(match)``.
RenameRule = Tuple[str, Union[str, Callable[[re.Match], str]]]


@dataclass
class Conversion:
    """A state dict converted to mmpretrain's layout, and the model that takes it.

    Args:
        library (str): The layout converted from (``'torchvision'`` or ``'timm'``).
        arch (str): The architecture, derived from the shapes (``'resnet50'``, ``'vit_base_p32'``).
        state_dict (dict): The renamed tensors.
        base_config (str, optional): mmtl's base model config that takes them, when one ships.
        model (dict, optional): Otherwise the mmpretrain ``ImageClassifier`` config that does.
    """

    library: str
    arch: str
    state_dict: StateDict
    base_config: Optional[str] = None
    model: Optional[dict] = None

    def describe_model(self) -> str:
        """Where the model to load the weights into is defined, for the log."""
        if self.base_config:
            return f'as in configs/{self.base_config}'
        return f'model = {self.model}'


def convert_layout(state: Mapping[str, torch.Tensor], library: str) -> Optional[Conversion]:
    """The conversion of the first family rule of ``library`` that recognises ``state``.

    Args:
        state (Mapping): A normalised state dict (no ``module.`` prefix).
        library (str): ``'torchvision'`` or ``'timm'``.

    Returns:
        Conversion | None: None when no family of ``library`` recognises ``state``.

    Raises:
        ValueError: A family recognised ``state`` but cannot convert it (says why and what to
            use instead).
    """
    for family, rule in FAMILY_RULES[library].items():
        try:
            conversion = rule(state)
        except (KeyError, IndexError, RuntimeError) as err:  # keys/shapes that contradict
            raise ValueError(
                f'a {library} {family} checkpoint whose keys or shapes do not fit together '
                f'(truncated or edited?): {type(err).__name__} {safe_text(err)[:120]}'
            ) from None
        if conversion is not None:
            return conversion
    for marker, reason in REFUSED[library].items():
        if marker in state:
            raise ValueError(reason)
    return None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def rename(state: Mapping[str, torch.Tensor], rules: Sequence[RenameRule], what: str) -> StateDict:
    """Rename every key of ``state`` with the first rule whose pattern matches it whole (and,
    for a function, gives a name rather than None).

    Raises:
        ValueError: A key no rule matches (the checkpoint has a layer ``what`` does not).
    """
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            match = re.fullmatch(pattern, key)
            new = match and (
                replacement(match) if callable(replacement) else match.expand(replacement)
            )
            if new:
                renamed[new] = value
                break
        else:
            raise ValueError(
                f"{what} checkpoint with a layer mmpretrain's model lacks: {safe_text(key)[:120]}"
            )
    return renamed


def count(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    """How many distinct values the first group of ``pattern`` (matched at a key's start) takes."""
    return len({m.group(1) for key in state if (m := re.match(pattern, key))})


def conversion(
    library: str,
    arch: str,
    state: StateDict,
    base_config: Optional[str],
    model: Optional[dict] = None,
) -> Conversion:
    """A :class:`Conversion` naming ``base_config`` if mmtl ships it, else ``model``."""
    shipped = base_config is not None and packaged_config_path(base_config) is not None
    return Conversion(library, arch, state, base_config if shipped else None, model)


def arch_name(zoo: Mapping[str, dict], settings: dict) -> Tuple[Union[str, dict], Optional[str]]:
    """``settings`` as an ``arch`` argument, and its size's name for labels.

    Args:
        zoo (Mapping): An mmpretrain backbone's table of architectures.
        settings (dict): The architecture derived from the weights.

    Returns:
        tuple: Its shortest name in ``zoo`` (else ``settings``), and its longest plain name
        (``'tiny'``; None when ``zoo`` has none).
    """
    names = [name for name, value in zoo.items() if value == settings]
    plain = [name for name in names if '-' not in name]
    return (min(names, key=len) if names else settings), (max(plain, key=len) if plain else None)


def classifier(
    backbone: dict, neck: Optional[dict], head: str, in_channels: int, num_classes: int, **kwargs
) -> dict:
    """An mmpretrain ``ImageClassifier`` config (``kwargs`` go to the head)."""
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=neck,
        head=dict(type=head, num_classes=num_classes, in_channels=in_channels, **kwargs),
    )


def swap_prefix(rest: str, table: Mapping[str, str], before: str) -> Optional[str]:
    """``before`` + ``rest`` with its longest prefix in ``table`` replaced; None when ``rest``
    starts with none of them."""
    prefixes = [prefix for prefix in table if rest.startswith(prefix)]
    if not prefixes:
        return None
    prefix = max(prefixes, key=len)
    return before + table[prefix] + rest[len(prefix) :]


def head_classes(state: Mapping[str, torch.Tensor], key: str) -> int:
    """The class count of the classifier weight ``key``; 1000 (to replace) for a backbone
    saved without one, such as DINOv2's."""
    return state[key].shape[0] if key in state else 1000


def timm_blocks(state: Mapping[str, torch.Tensor]) -> Dict[Tuple[str, str], int]:
    """timm's ``blocks.<stage>.<block>`` -> their position (from 1) in the network."""
    found = {(m[1], m[2]) for key in state if (m := re.match(r'blocks\.(\d+)\.(\d+)\.', key))}
    order = sorted(found, key=lambda block: tuple(map(int, block)))
    return {block: position for position, block in enumerate(order, start=1)}


#: torchvision's ``Sequential(conv, bn)`` indices -> mmcv ``ConvModule`` names.
CONV_BN = {'0': 'conv', '1': 'bn'}


# --------------------------------------------------------------------------------------------
# ResNet / ResNeXt / Wide-ResNet, VGG, DenseNet, MobileNet-v2 (torchvision's layout, which timm's
# ResNets and DenseNets share)
# --------------------------------------------------------------------------------------------


def resnet(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """ResNet of any depth, ResNeXt, Wide-ResNet -> ``ResNet``/``ResNeXt(style='pytorch')``.

    torchvision's ResNet is mmpretrain's with ``style='pytorch'`` (stride on the 3x3 conv, one
    7x7 stem conv); the backbones share every key name, only ``fc`` moves to ``head.fc``.
    """
    if 'layer1.0.conv1.weight' not in state:
        return None
    blocks = tuple(count(state, rf'layer{i}\.(\d+)\.') for i in range(1, 5))
    bottleneck = 'layer1.0.conv3.weight' in state
    depths = [
        depth
        for depth, (block, stages) in ResNet.arch_settings.items()
        if stages == blocks and (block is Bottleneck) == bottleneck
    ]
    if not depths:
        raise ValueError(
            f'a ResNet with {blocks} {"bottleneck" if bottleneck else "basic"} blocks per stage: '
            f'mmpretrain builds depths {", ".join(map(str, ResNet.arch_settings))}'
        )
    if 'conv1.weight' not in state:
        raise ValueError('a ResNet with a deep stem (ResNet-C/D): mmpretrain has no such model')
    depth = depths[0]
    width, per_group = state['layer1.0.conv2.weight'].shape[:2]
    groups = width // per_group
    if groups > 1:
        arch = base = f'resnext{depth}_{groups}x{per_group}d'
    elif width == 128:
        arch, base = f'wide_resnet{depth}_2', f'wide_resnet{depth}'
    else:
        arch = base = f'resnet{depth}'
    block = r'layer\d\.\d+\.(?:conv\d|bn\d|downsample\.[01])'
    renamed = rename(
        state,
        [
            (r'fc\.(weight|bias)', r'head.fc.\1'),
            (rf'(conv1|bn1|{block})\.(\w+)', r'backbone.\1.\2'),
        ],
        'ResNet',
    )
    return conversion('torchvision', arch, renamed, f'_base_/models/{base}.py')


def mobilenet_v2(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """MobileNet-v2 (width 1.0) -> ``MobileNetV2`` + ``LinearClsHead``.

    ``features.0`` is the stem (``conv1``), ``features.1-17`` the inverted residuals
    (``layer1.0`` to ``layer7.0``), ``features.18`` the last 1x1 conv (``conv2``). In a block,
    conv-BN-ReLU6 ``conv.K.{0,1}`` becomes ``conv.K.{conv,bn}``; the bare projection conv
    ``conv.K`` and the BN ``conv.(K+1)`` after it become ``conv.K.{conv,bn}``.
    """
    if 'features.1.conv.0.0.weight' not in state or 'classifier.1.weight' not in state:
        return None
    stem, modules = state['features.0.0.weight'].shape[0], count(state, r'features\.(\d+)\.')
    head = state.get('features.18.0.weight')
    if stem != 32 or modules != 19 or head is None or head.shape[0] != 1280:
        raise ValueError(
            f'a MobileNet-v2 of another width or depth (stem {stem} channels, {modules - 2} '
            "blocks): mmtl's _base_/models/mobilenet_v2_1x.py is width 1.0 with 17 blocks"
        )
    blocks = [
        f'layer{layer}.{block}'
        for layer, (_, _, num_blocks, _) in enumerate(MobileNetV2.arch_settings, start=1)
        for block in range(num_blocks)
    ]

    def bare(m: re.Match) -> str:  # the projection conv, or the BN after it
        index, position, param = int(m[1]), int(m[2]), m[3]
        if state[f'features.{index}.conv.{position}.weight'].dim() == 4:
            return f'backbone.{blocks[index - 1]}.conv.{position}.conv.{param}'
        return f'backbone.{blocks[index - 1]}.conv.{position - 1}.bn.{param}'

    renamed = rename(
        state,
        [
            (r'classifier\.1\.(weight|bias)', r'head.fc.\1'),
            (r'features\.0\.([01])\.(\w+)', lambda m: f'backbone.conv1.{CONV_BN[m[1]]}.{m[2]}'),
            (r'features\.18\.([01])\.(\w+)', lambda m: f'backbone.conv2.{CONV_BN[m[1]]}.{m[2]}'),
            (
                r'features\.(\d+)\.conv\.(\d+)\.([01])\.(\w+)',
                lambda m: f'backbone.{blocks[int(m[1]) - 1]}.conv.{m[2]}.{CONV_BN[m[3]]}.{m[4]}',
            ),
            (r'features\.(\d+)\.conv\.(\d+)\.(\w+)', bare),
        ],
        'MobileNet-v2',
    )
    return conversion('torchvision', 'mobilenet_v2', renamed, '_base_/models/mobilenet_v2_1x.py')


def vgg(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """VGG of any depth, with or without BN -> ``VGG`` + ``StackedLinearClsHead``.

    torchvision's ``features`` holds convs, (BNs,) ReLUs and max-pools as separate modules;
    mmpretrain's one ``ConvModule`` per conv and a max-pool after each stage: the k-th conv
    moves to k plus the number of stages before it. The classifier's ``Linear`` layers
    ``classifier.{0,3,6}`` become the head's ``layers.{0,1,2}.fc`` (mmtl keeps the classifier in
    the head, so that ``model.head.num_classes`` sets the class count).
    """
    if 'classifier.6.weight' not in state or 'features.0.weight' not in state:
        return None
    convs = sorted(
        int(m[1])
        for key, value in state.items()
        if (m := re.fullmatch(r'features\.(\d+)\.weight', key)) and value.dim() == 4
    )
    depth = len(convs) + 3  # + the three Linear layers
    if depth not in VGG.arch_settings:
        raise ValueError(f'a VGG with {len(convs)} convs: mmpretrain builds VGG-11/13/16/19')
    stage_blocks = VGG.arch_settings[depth]
    names = {}
    for stage, num_convs in enumerate(stage_blocks):
        first = sum(stage_blocks[:stage]) + stage  # one max-pool after each earlier stage
        for tv_index, mm_index in zip(convs[first - stage :], range(first, first + num_convs)):
            names[tv_index] = f'features.{mm_index}.conv'
            names[tv_index + 1] = f'features.{mm_index}.bn'  # vgg*_bn only
    renamed = rename(
        state,
        [
            (r'features\.(\d+)\.(\w+)', lambda m: f'backbone.{names[int(m[1])]}.{m[2]}'),
            (r'classifier\.([036])\.(\w+)', lambda m: f'head.layers.{int(m[1]) // 3}.fc.{m[2]}'),
        ],
        'VGG',
    )
    bn = '_bn' if any(key.endswith('running_var') for key in state) else ''
    return conversion('torchvision', f'vgg{depth}{bn}', renamed, f'_base_/models/vgg{depth}{bn}.py')


def densenet(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """DenseNet of any depth -> ``DenseNet`` + ``LinearClsHead``.

    ``features.conv0/norm0`` -> ``stem.0/1``; ``denseblockI.denselayerJ`` ->
    ``stages.(I-1).block.(J-1)``; ``transitionI`` -> ``transitions.(I-1)``; the final
    ``norm5`` closes the last "transition" (``transitions.3.0``).
    """
    if 'features.conv0.weight' not in state:
        return None
    depths = [count(state, rf'features\.denseblock{i}\.denselayer(\d+)\.') for i in range(1, 5)]
    growth = state['features.denseblock1.denselayer1.conv2.weight'].shape[0]
    names = [
        name
        for name, arch in DenseNet.arch_settings.items()
        if arch['depths'] == depths and arch['growth_rate'] == growth
    ]
    if not names:
        raise ValueError(
            f'a DenseNet with {depths} layers per block and growth {growth}: mmpretrain builds '
            f'DenseNet-{"/".join(DenseNet.arch_settings)}'
        )
    renamed = rename(
        state,
        [
            (r'features\.conv0\.(\w+)', r'backbone.stem.0.\1'),
            (r'features\.norm0\.(\w+)', r'backbone.stem.1.\1'),
            (
                r'features\.denseblock(\d)\.denselayer(\d+)\.(\w+\.\w+)',
                lambda m: f'backbone.stages.{int(m[1]) - 1}.block.{int(m[2]) - 1}.{m[3]}',
            ),
            (
                r'features\.transition(\d)\.(\w+\.\w+)',
                lambda m: f'backbone.transitions.{int(m[1]) - 1}.{m[2]}',
            ),
            (
                r'features\.norm(\d)\.(\w+)',
                lambda m: f'backbone.transitions.{int(m[1]) - 2}.0.{m[2]}',
            ),
            (r'classifier\.(weight|bias)', r'head.fc.\1'),
        ],
        'DenseNet',
    )
    return conversion(
        'torchvision', f'densenet{names[0]}', renamed, f'_base_/models/densenet{names[0]}.py'
    )


#: Inside timm's MobileNet-v2 blocks: the first (depthwise-separable), the others (inverted
#: residuals), and around them.
TIMM_MOBILENET_V2 = {
    'conv_dw': {
        'conv_dw.': 'conv.0.0.',
        'bn1.': 'conv.0.1.',
        'conv_pw.': 'conv.1.',
        'bn2.': 'conv.2.',
    },
    'conv_pwl': {
        'conv_pw.': 'conv.0.0.',
        'bn1.': 'conv.0.1.',
        'conv_dw.': 'conv.1.0.',
        'bn2.': 'conv.1.1.',
        'conv_pwl.': 'conv.2.',
        'bn3.': 'conv.3.',
    },
}


def timm_mobilenet_v2(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``mobilenetv2_100`` -> torchvision's names (blocks numbered ``features.1-17`` after
    the stem, ``conv_head`` + ``bn2`` as ``features.18``), then as torchvision's."""
    if 'conv_stem.weight' not in state or 'bn2.weight' not in state:
        return None
    if any('.se.' in key for key in state):
        return None  # an EfficientNet (see REFUSED)
    index = timm_blocks(state)
    head = len(index) + 1

    def block(m: re.Match) -> Optional[str]:
        inverted = f'blocks.{m[1]}.{m[2]}.conv_pwl.weight' in state
        table = TIMM_MOBILENET_V2['conv_pwl' if inverted else 'conv_dw']
        return swap_prefix(m[3], table, f'features.{index[m[1], m[2]]}.')

    torchvision_layout = rename(
        state,
        [
            (r'conv_stem\.(\w+)', r'features.0.0.\1'),
            (r'bn1\.(\w+)', r'features.0.1.\1'),
            (r'blocks\.(\d+)\.(\d+)\.(.+)', block),
            (r'conv_head\.(\w+)', rf'features.{head}.0.\1'),
            (r'bn2\.(\w+)', rf'features.{head}.1.\1'),
            (r'classifier\.(\w+)', r'classifier.1.\1'),
        ],
        'timm MobileNet-v2',
    )
    converted = mobilenet_v2(torchvision_layout)
    return converted and replace(converted, library='timm')


def timm_vgg(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``vgg*``: the first two fully connected layers are convolutions over the 7x7 map
    (``pre_logits.fc1`` 4096x512x7x7, ``fc2`` 1x1); flattened, they are torchvision's ``Linear``
    weights (the feature map flattens channel-major). Then as torchvision's."""
    if 'pre_logits.fc1.weight' not in state:
        return None
    torchvision_layout = rename(
        state,
        [
            (r'(features\.\d+\.\w+)', r'\1'),
            (r'pre_logits\.fc1\.(\w+)', r'classifier.0.\1'),
            (r'pre_logits\.fc2\.(\w+)', r'classifier.3.\1'),
            (r'head\.fc\.(\w+)', r'classifier.6.\1'),
        ],
        'timm VGG',
    )
    for key in ('classifier.0.weight', 'classifier.3.weight'):
        torchvision_layout[key] = torchvision_layout[key].flatten(1)
    converted = vgg(torchvision_layout)
    return converted and replace(converted, library='timm')


# --------------------------------------------------------------------------------------------
# MobileNet-v3
# --------------------------------------------------------------------------------------------

#: Final conv widths of mmpretrain's MobileNet-v3 (width 1.0), by its number of layers.
MOBILENET_V3 = {13: ('small', 576), 17: ('large', 960)}


def mobilenet_v3_conversion(library: str, state: StateDict, layers: int) -> Conversion:
    """Check the derived depth and width, and name the base config.

    timm's BatchNorms use eps 1e-5, torchvision's and mmpretrain's 1e-3: timm weights get the
    base config's model with timm's eps.
    """
    arch, width = MOBILENET_V3.get(layers, (None, None))
    if arch is None or state[f'backbone.layer{layers - 1}.conv.weight'].shape[0] != width:
        raise ValueError(
            f'a MobileNet-v3 of {layers} layers and another width than Small/Large 1.0: use '
            "mmtl's _base_/models/mobilenet_v3_small.py or _large.py with its load_from"
        )
    base = f'_base_/models/mobilenet_v3_{arch}.py'
    if library == 'torchvision':
        return conversion(library, f'mobilenet_v3_{arch}', state, base)
    model = classifier(
        dict(type='MobileNetV3', arch=arch, norm_cfg=dict(type='BN', eps=1e-5)),
        dict(type='GlobalAveragePooling'),
        'StackedLinearClsHead',
        width,
        head_classes(state, 'head.layers.1.fc.weight'),
        mid_channels=[state['head.layers.0.fc.weight'].shape[0]],
        dropout_rate=0.2,
        act_cfg=dict(type='HSwish'),
    )
    return conversion(library, f'mobilenet_v3_{arch}', state, None, model)


def mobilenet_v3(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """MobileNet-v3 Small/Large -> ``MobileNetV3`` + ``StackedLinearClsHead``.

    ``features.i`` is mmpretrain's ``layeri``; inside a block the conv-BN modules
    ``block.K`` are, in order, the expand conv (when there is one), the depthwise and the linear
    conv, and ``block.K.fc1/fc2`` the squeeze-excitation.
    """
    if 'features.1.block.0.0.weight' not in state or 'classifier.3.weight' not in state:
        return None
    layers = count(state, r'features\.(\d+)\.')
    parts = {}
    for layer in range(1, layers - 1):
        modules = sorted(
            {int(m[1]) for k in state if (m := re.match(rf'features\.{layer}\.block\.(\d+)\.', k))}
        )
        convs = [i for i in modules if f'features.{layer}.block.{i}.fc1.weight' not in state]
        names = ['expand_conv', 'depthwise_conv', 'linear_conv'][-len(convs) :]
        parts.update({(layer, i): name for i, name in zip(convs, names)})
    renamed = rename(
        state,
        [
            (
                r'features\.(\d+)\.block\.\d+\.fc([12])\.(weight|bias)',
                r'backbone.layer\1.se.conv\2.conv.\3',
            ),
            (
                r'features\.(\d+)\.block\.(\d+)\.([01])\.(\w+)',
                lambda m: (
                    f'backbone.layer{m[1]}.{parts[int(m[1]), int(m[2])]}.{CONV_BN[m[3]]}.{m[4]}'
                ),
            ),
            (
                r'features\.(\d+)\.([01])\.(\w+)',
                lambda m: f'backbone.layer{m[1]}.{CONV_BN[m[2]]}.{m[3]}',
            ),
            (
                r'classifier\.([03])\.(weight|bias)',
                lambda m: f'head.layers.{int(m[1]) // 3}.fc.{m[2]}',
            ),
        ],
        'MobileNet-v3',
    )
    return mobilenet_v3_conversion('torchvision', renamed, layers)


#: timm MobileNet-v3 block modules -> mmpretrain's, for inverted-residual, depthwise-separable
#: (the first block) and conv-BN-act (the last) blocks.
TIMM_MOBILENET_V3_BLOCKS = {
    'conv_pwl': {
        'conv_pw.': 'expand_conv.conv.',
        'bn1.': 'expand_conv.bn.',
        'conv_dw.': 'depthwise_conv.conv.',
        'bn2.': 'depthwise_conv.bn.',
        'conv_pwl.': 'linear_conv.conv.',
        'bn3.': 'linear_conv.bn.',
    },
    'conv_dw': {
        'conv_dw.': 'depthwise_conv.conv.',
        'bn1.': 'depthwise_conv.bn.',
        'conv_pw.': 'linear_conv.conv.',
        'bn2.': 'linear_conv.bn.',
    },
    'conv': {'conv.': 'conv.', 'bn1.': 'bn.'},
}
SE = {'se.conv_reduce.': 'se.conv1.conv.', 'se.conv_expand.': 'se.conv2.conv.'}


def timm_mobilenet_v3(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``mobilenetv3_small_100``/``large_100`` -> ``MobileNetV3`` + its stacked head.

    timm's blocks ``blocks.<stage>.<block>`` are mmpretrain's ``layer1..`` in order; its
    ``conv_head`` (a 1x1 conv with bias after the pooling) is the head's hidden ``Linear``.
    """
    if 'conv_stem.weight' not in state or 'conv_head.bias' not in state:
        return None
    layer = timm_blocks(state)

    def block(m: re.Match) -> Optional[str]:
        prefix = f'blocks.{m[1]}.{m[2]}.'
        kind = next((k for k in TIMM_MOBILENET_V3_BLOCKS if f'{prefix}{k}.weight' in state), None)
        table = {**TIMM_MOBILENET_V3_BLOCKS[kind], **SE} if kind else {}
        return swap_prefix(m[3], table, f'backbone.layer{layer[m[1], m[2]]}.')

    renamed = rename(
        state,
        [
            (r'conv_stem\.weight', 'backbone.layer0.conv.weight'),
            (r'bn1\.(\w+)', r'backbone.layer0.bn.\1'),
            (r'blocks\.(\d+)\.(\d+)\.(.+)', block),
            (r'conv_head\.(weight|bias)', r'head.layers.0.fc.\1'),
            (r'classifier\.(weight|bias)', r'head.layers.1.fc.\1'),
        ],
        'timm MobileNet-v3',
    )
    renamed['head.layers.0.fc.weight'] = renamed['head.layers.0.fc.weight'].flatten(1)
    return mobilenet_v3_conversion('timm', renamed, len(layer) + 1)


# --------------------------------------------------------------------------------------------
# ConvNeXt
# --------------------------------------------------------------------------------------------


def convnext_conversion(library: str, state: StateDict) -> Conversion:
    """Derive depths and widths from the renamed ``state``; name ``convnext_<arch>``.

    The small timm ConvNeXts (atto to nano) use 1x1 convs as the MLP (``linear_pw_conv=False``).
    """
    stages = range(4)
    depths = [count(state, rf'backbone\.stages\.{s}\.(\d+)\.') for s in stages]
    channels = [state[f'backbone.stages.{s}.0.gamma'].shape[0] for s in stages]
    arch, size = arch_name(ConvNeXt.arch_settings, {'depths': depths, 'channels': channels})
    label = f'convnext_{size or "x".join(map(str, channels))}'
    backbone = dict(type='ConvNeXt', arch=arch)
    if state['backbone.stages.0.0.pointwise_conv1.weight'].dim() == 4:
        backbone['linear_pw_conv'] = False
        label += '_conv_mlp'
    model = classifier(
        backbone,
        None,
        'LinearClsHead',
        channels[-1],
        head_classes(state, 'head.fc.weight'),
    )
    return conversion(library, label, state, f'_base_/models/{label}.py', model)


CONVNEXT_BLOCK = {
    'block.0.': 'depthwise_conv.',
    'block.2.': 'norm.',
    'block.3.': 'pointwise_conv1.',
    'block.5.': 'pointwise_conv2.',
    'layer_scale': 'gamma',
}


def convnext(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """ConvNeXt of any size -> ``ConvNeXt`` (which pools, then normalises) + ``LinearClsHead``.

    ``features.0`` (stem) and ``features.2/4/6`` (downsampling) are ``downsample_layers.0-3``;
    ``features.1/3/5/7`` the stages; ``classifier.0`` the final LayerNorm (``norm3``); the layer
    scale ``(C, 1, 1)`` is ``gamma`` ``(C,)``.
    """
    if 'features.1.0.layer_scale' not in state:
        return None
    renamed = rename(
        state,
        [
            (
                r'features\.([0246])\.([01])\.(\w+)',
                lambda m: f'backbone.downsample_layers.{int(m[1]) // 2}.{m[2]}.{m[3]}',
            ),
            (
                r'features\.([1357])\.(\d+)\.(.+)',
                lambda m: swap_prefix(
                    m[3], CONVNEXT_BLOCK, f'backbone.stages.{int(m[1]) // 2}.{m[2]}.'
                ),
            ),
            (r'classifier\.0\.(\w+)', r'backbone.norm3.\1'),
            (r'classifier\.2\.(\w+)', r'head.fc.\1'),
        ],
        'ConvNeXt',
    )
    for key in [k for k in renamed if k.endswith('.gamma')]:
        renamed[key] = renamed[key].flatten()
    return convnext_conversion('torchvision', renamed)


def timm_convnext(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``convnext_*`` -> ``ConvNeXt`` + ``LinearClsHead`` (same modules, other names)."""
    if 'stem.0.weight' not in state or 'stages.0.blocks.0.conv_dw.weight' not in state:
        return None
    if 'stages.0.blocks.0.mlp.grn.weight' in state:
        raise ValueError(
            "a timm ConvNeXt-V2: use mmtl's _base_/models/convnext_v2_atto.py or "
            'convnext_v2_tiny.py with its load_from (pretrained_url)'
        )
    table = {
        'conv_dw.': 'depthwise_conv.',
        'norm.': 'norm.',
        'mlp.fc1.': 'pointwise_conv1.',
        'mlp.fc2.': 'pointwise_conv2.',
        'gamma': 'gamma',
    }
    renamed = rename(
        state,
        [
            (r'stem\.([01])\.(\w+)', r'backbone.downsample_layers.0.\1.\2'),
            (r'stages\.(\d)\.downsample\.([01])\.(\w+)', r'backbone.downsample_layers.\1.\2.\3'),
            (
                r'stages\.(\d)\.blocks\.(\d+)\.(.+)',
                lambda m: swap_prefix(m[3], table, f'backbone.stages.{m[1]}.{m[2]}.'),
            ),
            (r'head\.norm\.(\w+)', r'backbone.norm3.\1'),
            (r'head\.fc\.(\w+)', r'head.fc.\1'),
        ],
        'timm ConvNeXt',
    )
    return convnext_conversion('timm', renamed)


# --------------------------------------------------------------------------------------------
# Swin Transformer (v1)
# --------------------------------------------------------------------------------------------


def swin_conversion(library: str, state: StateDict) -> Conversion:
    """Derive Swin's widths, depths, heads and window from the renamed ``state``.

    Patch merging concatenates the four pixels of each 2x2 patch pixel-major in torchvision and
    timm, channel-major in mmpretrain (``nn.Unfold``): its weights are reordered. The relative
    position index (a constant buffer, absent from timm's files) is made as mmpretrain makes it.
    """
    stages = range(4)
    depths = [count(state, rf'backbone\.stages\.{s}\.blocks\.(\d+)\.') for s in stages]
    tables = [
        state[f'backbone.stages.{s}.blocks.0.attn.w_msa.relative_position_bias_table']
        for s in stages
    ]
    heads = [table.shape[1] for table in tables]
    window = (round(tables[0].shape[0] ** 0.5) + 1) // 2
    embed = state['backbone.patch_embed.projection.weight'].shape[0]
    for key in [k for k in state if '.downsample.' in k]:
        value = state[key]
        if value.dim() == 2:  # reduction (out, 4C)
            value = value.reshape(value.shape[0], 4, -1)[:, [0, 2, 1, 3]].transpose(1, 2)
        else:  # norm (4C,)
            value = value.reshape(4, -1)[[0, 2, 1, 3]].transpose(0, 1)
        state[key] = value.reshape(state[key].shape).contiguous()
    seq = WindowMSA.double_step_seq(2 * window - 1, window, 1, window)
    index = (seq + seq.T).flip(1).contiguous()
    for s, depth in zip(stages, depths):
        for b in range(depth):
            state[f'backbone.stages.{s}.blocks.{b}.attn.w_msa.relative_position_index'] = index
    arch, size = arch_name(
        SwinTransformer.arch_zoo, dict(embed_dims=embed, depths=depths, num_heads=heads)
    )
    label = f'swin_{size or embed}'
    if window != 7:
        label += f'_window{window}'
    model = classifier(
        dict(type='SwinTransformer', arch=arch, img_size=32 * window, window_size=window),
        dict(type='GlobalAveragePooling'),
        'LinearClsHead',
        embed * 8,
        head_classes(state, 'head.fc.weight'),
    )
    return conversion(library, label, state, f'_base_/models/{label}.py', model)


SWIN_BLOCK = {
    'norm1.': 'norm1.',
    'attn.qkv.': 'attn.w_msa.qkv.',
    'attn.proj.': 'attn.w_msa.proj.',
    'attn.relative_position_bias_table': 'attn.w_msa.relative_position_bias_table',
    'norm2.': 'norm2.',
}
#: Buffers computed from the window size, made anew.
SWIN_CONSTANTS = ('relative_position_index', 'attn_mask')


def swin(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """Swin-T/S/B (v1) -> ``SwinTransformer`` + ``GlobalAveragePooling`` + ``LinearClsHead``.

    ``features.0`` is the patch embedding, ``features.1/3/5/7`` the stages, ``features.2/4/6``
    the patch merging that ends stages 0-2 in mmpretrain.
    """
    if 'features.1.0.attn.relative_position_bias_table' not in state:
        return None
    block = {**SWIN_BLOCK, 'mlp.0.': 'ffn.layers.0.0.', 'mlp.3.': 'ffn.layers.1.'}
    renamed = rename(
        {k: v for k, v in state.items() if not k.endswith(SWIN_CONSTANTS)},
        [
            (r'features\.0\.0\.(\w+)', r'backbone.patch_embed.projection.\1'),
            (r'features\.0\.2\.(\w+)', r'backbone.patch_embed.norm.\1'),
            (
                r'features\.([1357])\.(\d+)\.(.+)',
                lambda m: swap_prefix(
                    m[3], block, f'backbone.stages.{int(m[1]) // 2}.blocks.{m[2]}.'
                ),
            ),
            (
                r'features\.([246])\.(reduction|norm)\.(\w+)',
                lambda m: f'backbone.stages.{int(m[1]) // 2 - 1}.downsample.{m[2]}.{m[3]}',
            ),
            (r'norm\.(\w+)', r'backbone.norm3.\1'),
            (r'head\.(\w+)', r'head.fc.\1'),
        ],
        'Swin',
    )
    return swin_conversion('torchvision', renamed)


def timm_swin(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``swin_*_patch4_window*`` -> mmpretrain's Swin (patch merging starts timm's stages)."""
    if 'layers.0.blocks.0.attn.relative_position_bias_table' not in state:
        return None
    block = {**SWIN_BLOCK, 'mlp.fc1.': 'ffn.layers.0.0.', 'mlp.fc2.': 'ffn.layers.1.'}
    renamed = rename(
        {k: v for k, v in state.items() if not k.endswith(SWIN_CONSTANTS)},
        [
            (r'patch_embed\.proj\.(\w+)', r'backbone.patch_embed.projection.\1'),
            (r'patch_embed\.norm\.(\w+)', r'backbone.patch_embed.norm.\1'),
            (
                r'layers\.(\d)\.blocks\.(\d+)\.(.+)',
                lambda m: swap_prefix(m[3], block, f'backbone.stages.{m[1]}.blocks.{m[2]}.'),
            ),
            (
                r'layers\.(\d)\.downsample\.(reduction|norm)\.(\w+)',
                lambda m: f'backbone.stages.{int(m[1]) - 1}.downsample.{m[2]}.{m[3]}',
            ),
            (r'norm\.(\w+)', r'backbone.norm3.\1'),
            (r'head\.fc\.(\w+)', r'head.fc.\1'),
        ],
        'timm Swin',
    )
    return swin_conversion('timm', renamed)


# --------------------------------------------------------------------------------------------
# ViT, DeiT-III
# --------------------------------------------------------------------------------------------


def vit_conversion(library: str, state: StateDict) -> Conversion:
    """Derive the ViT from the renamed ``state``: mmpretrain's ``VisionTransformer``, or for
    DeiT-III (a position embedding without a class-token slot: DeiT-III adds it before
    prepending the class token) mmtl's ``DeiT3WithMlpNorm``, the backbone of
    ``configs/_base_/models/deit3_*``.

    Width, depth and MLP width come from the shapes; the head count from mmpretrain's table of
    that size (else 64-wide heads, as in every published ViT but ViT-H); the patch size from
    the patch embedding; the input size from the position embedding. A ViT's layer scale
    (DINOv2) is ``layer_scale_init_value``.
    """
    embed = state['backbone.cls_token'].shape[-1]
    settings = dict(
        embed_dims=embed,
        num_layers=count(state, r'backbone\.layers\.(\d+)\.'),
        feedforward_channels=state['backbone.layers.0.ffn.layers.0.0.weight'].shape[0],
    )
    patch = state['backbone.patch_embed.projection.weight'].shape[-1]
    positions = state['backbone.pos_embed'].shape[1]
    layer_scale = 'backbone.layers.0.attn.gamma1.weight' in state
    grid = round((positions - 1) ** 0.5)
    if grid * grid == positions - 1:
        family, zoo, backbone = 'vit', VisionTransformer.arch_zoo, dict(type='VisionTransformer')
        if layer_scale:
            backbone['layer_scale_init_value'] = 1e-5  # creates the layers the weights fill
    else:
        grid = round(positions**0.5)
        if grid * grid != positions:
            raise ValueError(f'a ViT with {positions} position embeddings: not a square grid')
        family, zoo, backbone = 'deit3', DeiT3.arch_zoo, dict(type='DeiT3WithMlpNorm')
        if not layer_scale:
            backbone['use_layer_scale'] = False
    heads = [
        a['num_heads']
        for a in zoo.values()
        if {**a, 'num_heads': 0} == {**settings, 'num_heads': 0}
    ]
    settings['num_heads'] = heads[0] if heads else embed // 64
    arch, size = arch_name(zoo, settings)
    backbone.update(arch=arch, img_size=grid * patch, patch_size=patch)
    label = f'{family}_{size or embed}_p{patch}' + (
        '' if grid * patch == 224 else f'_{grid * patch}'
    )
    model = classifier(
        backbone,
        None,
        'VisionTransformerClsHead',
        embed,
        head_classes(state, 'head.layers.head.weight'),
    )
    base_config = f'_base_/models/{label}.py' if family == 'deit3' else None
    return conversion(library, label, state, base_config, model)


def vit(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """ViT-B/16, B/32, L/16, L/32, H/14 -> ``VisionTransformer`` + ``VisionTransformerClsHead``.

    The attention's packed ``in_proj`` is mmpretrain's ``qkv`` (same q, k, v order).
    """
    if 'encoder.pos_embedding' not in state:
        return None
    layer = {
        'ln_1.': 'ln1.',
        'self_attention.in_proj_weight': 'attn.qkv.weight',
        'self_attention.in_proj_bias': 'attn.qkv.bias',
        'self_attention.out_proj.': 'attn.proj.',
        'ln_2.': 'ln2.',
        'mlp.0.': 'ffn.layers.0.0.',
        'mlp.3.': 'ffn.layers.1.',
    }
    renamed = rename(
        state,
        [
            (r'conv_proj\.(\w+)', r'backbone.patch_embed.projection.\1'),
            (r'class_token', 'backbone.cls_token'),
            (r'encoder\.pos_embedding', 'backbone.pos_embed'),
            (
                r'encoder\.layers\.encoder_layer_(\d+)\.(.+)',
                lambda m: swap_prefix(m[2], layer, f'backbone.layers.{m[1]}.'),
            ),
            (r'encoder\.ln\.(\w+)', r'backbone.ln1.\1'),
            (r'heads\.head\.(\w+)', r'head.layers.head.\1'),
        ],
        'ViT',
    )
    return vit_conversion('torchvision', renamed)


def timm_vit(state: Mapping[str, torch.Tensor]) -> Optional[Conversion]:
    """timm ``vit_*`` (class-token ViTs) and ``deit3_*`` -> ``VisionTransformer``/DeiT-III."""
    if 'cls_token' not in state or 'blocks.0.attn.qkv.weight' not in state:
        return None
    if 'norm_pre.weight' in state:
        raise ValueError(
            'a timm CLIP ViT (its activation, GELU or QuickGELU, is not in the weights): use '
            "mmtl's _base_/models/vit_base_p16_clip.py with its load_from (pretrained_url)"
        )
    block = {
        'norm1.': 'ln1.',
        'attn.qkv.': 'attn.qkv.',
        'attn.proj.': 'attn.proj.',
        'ls1.gamma': 'attn.gamma1.weight',
        'norm2.': 'ln2.',
        'mlp.fc1.': 'ffn.layers.0.0.',
        'mlp.fc2.': 'ffn.layers.1.',
        'ls2.gamma': 'ffn.gamma2.weight',
    }
    renamed = rename(
        state,
        [
            (r'patch_embed\.proj\.(\w+)', r'backbone.patch_embed.projection.\1'),
            (r'(cls_token|pos_embed)', r'backbone.\1'),
            (
                r'blocks\.(\d+)\.(.+)',
                lambda m: swap_prefix(m[2], block, f'backbone.layers.{m[1]}.'),
            ),
            (r'norm\.(\w+)', r'backbone.ln1.\1'),
            (r'head\.(weight|bias)', r'head.layers.head.\1'),
        ],
        'timm ViT',
    )
    return vit_conversion('timm', renamed)


# --------------------------------------------------------------------------------------------
# The tables: families whose structure differs from mmpretrain's (refused, naming the weights
# to use), and the rules
# --------------------------------------------------------------------------------------------

#: library -> a key only that layout has -> why it is refused and the weights to use instead.
REFUSED = {
    'torchvision': {
        'features.1.0.block.0.0.weight': (
            "torchvision's EfficientNet(-V2) pads and orders its layers otherwise than "
            "mmpretrain's TF-ported one: use mmtl's _base_/models/efficientnet_b0.py-b3.py or "
            'efficientnetv2_b0.py/_s.py with its load_from (pretrained_url)'
        ),
        'trunk_output.block1.block1-0.f.a.0.weight': (
            "torchvision's RegNet is not the pycls layout of mmpretrain's RegNet: use mmtl's "
            '_base_/models/regnetx_400mf.py (800mf, 1.6gf) with its load_from (pretrained_url)'
        ),
        'features.1.0.attn.logit_scale': (
            "torchvision's Swin-V2 is not mmpretrain's Swin: use torchvision's swin_t/s/b (v1) or "
            "mmtl's _base_/models/swin_tiny.py with its load_from (pretrained_url)"
        ),
    },
    'timm': {
        'blocks.1.0.se.conv_reduce.weight': (
            "timm's EfficientNet/MixNet/... is not mmpretrain's TF-ported EfficientNet: use mmtl's "
            '_base_/models/efficientnet_b0.py-b3.py or efficientnetv2_b0.py/_s.py with its '
            'load_from (pretrained_url)'
        ),
        's1.b1.conv1.conv.weight': (
            "timm's RegNet is not mmpretrain's: use mmtl's _base_/models/regnetx_400mf.py (800mf, "
            '1.6gf) with its load_from (pretrained_url)'
        ),
    },
}

#: library -> family -> rule, tried in this order.
FAMILY_RULES = {
    'torchvision': {
        'resnet': resnet,
        'mobilenet_v2': mobilenet_v2,
        'vgg': vgg,
        'densenet': densenet,
        'mobilenet_v3': mobilenet_v3,
        'convnext': convnext,
        'swin': swin,
        'vit': vit,
    },
    'timm': {
        'mobilenet_v2': timm_mobilenet_v2,
        'vgg': timm_vgg,
        'mobilenet_v3': timm_mobilenet_v3,
        'convnext': timm_convnext,
        'swin': timm_swin,
        'vit': timm_vit,
    },
}
