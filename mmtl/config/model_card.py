"""A checkpoint's model card: what ``init_model(CKPT)`` needs, as a few checked plain values.

A card names one of mmtl's base model configs and a few bounded values (classes, input size,
mean/std, test resize, head options). mmtl builds the model and test pipeline from its own
files with them: nothing read from a card becomes a type, a scope, a path or a module name.
"""

import copy
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

from mmtl.utils.errors import CheckpointError
from mmtl.utils.prediction_rows import UNSAFE_CHARS

from .access import find_test_dataset, is_image_loader, model_config, plain, transform_name
from .load import packaged_config_dirs
from .resolve import eval_resize_size

#: Where a checkpoint keeps its card: ``checkpoint['meta'][CARD_KEY]``.
CARD_KEY = 'model_card'
CARD_FORMAT = 1
MAX_CLASSES = 100_000
MAX_CLASS_NAME_CHARS = 256
INPUT_SIZE_RANGE = (8, 1024)
MAX_HIDDEN_LAYERS = 8
MAX_HIDDEN_CHANNELS = 65_536
#: The test-time resize of mmtl's pipelines: short edge to size / 0.875 + centre crop, or a
#: plain resize to the square input size.
TEST_RESIZES = ('crop', 'square')
INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos')
#: Head keys of a base model that only matter for training (the card does not carry them).
TRAINING_HEAD_KEYS = frozenset({'num_classes', 'loss', 'topk', 'cal_acc', 'init_cfg'})
#: Backbone keys that only matter for training.
TRAINING_BACKBONE_KEYS = frozenset(
    {'init_cfg', 'frozen_stages', 'norm_eval', 'drop_path_rate', 'with_cp', 'drop_rate'}
)
#: Classifier types whose modules (and so weights) are those of mmpretrain's ImageClassifier.
CLASSIFIER_TYPES = ('ImageClassifier', 'TransferClassifier')
#: Classifier keys that only matter for training.
TRAINING_MODEL_KEYS = frozenset(
    {'type', 'frozen_modules', 'train_cfg', 'init_cfg', 'data_preprocessor'}
)
#: The head mmtl builds for the head options below.
OPTIONS_HEAD = 'TransferClsHead'


class ModelCardError(CheckpointError, ValueError):
    """A checkpoint's model card is missing, malformed or out of bounds."""


@dataclass(frozen=True)
class ModelCard:
    """What a checkpoint says about its model, each value checked.

    Attributes:
        architecture (str): The name of one of mmtl's base model configs.
        num_classes (int): Classes of the head.
        classes (tuple[str], optional): Their names, one per class.
        input_size (int): The side of the square images the model sees.
        mean (tuple[float]): Per-channel mean of the input normalisation (0-255).
        std (tuple[float]): Per-channel std of the input normalisation.
        to_rgb (bool): Whether the BGR image is turned into RGB first.
        test_resize (str): ``'crop'`` or ``'square'`` (see :data:`TEST_RESIZES`).
        interpolation (str): Interpolation of the test resize.
        head (dict): Options of mmtl's ``TransferClsHead`` (``hidden_channels``,
            ``dropout``, ``source_classes``); empty for the base model's own head.
    """

    architecture: str
    num_classes: int
    input_size: int
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    to_rgb: bool = True
    test_resize: str = 'crop'
    interpolation: str = 'bilinear'
    classes: Optional[Tuple[str, ...]] = None
    head: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The card as plain values, for ``checkpoint['meta'][CARD_KEY]``."""
        card = asdict(self)
        card['mean'], card['std'] = list(self.mean), list(self.std)
        card['classes'] = list(self.classes) if self.classes is not None else None
        return dict(format=CARD_FORMAT, **card)

    def to_config(self) -> Config:
        """The config mmtl builds this model and its test pipeline from (its own files).

        Returns:
            Config: ``model``, ``data_preprocessor``, ``input_size`` and a
            ``test_dataloader`` whose dataset holds the test pipeline and the class names.
        """
        model = copy.deepcopy(base_model_configs()[self.architecture])
        base_head = model['head']
        if self.head:
            head = dict(type=OPTIONS_HEAD, in_channels=base_head['in_channels'], **self.head)
            for key in ('loss', 'topk'):
                if key in base_head:
                    head[key] = base_head[key]
            model['head'] = head
        model['head']['num_classes'] = self.num_classes
        if 'topk' in model['head']:  # mmpretrain's accuracy needs k <= classes
            model['head']['topk'] = tuple(k for k in model['head']['topk'] if k <= self.num_classes)
        model.get('backbone', {}).pop('init_cfg', None)
        dataset = dict(type='FolderDataset', data_prefix='test', pipeline=self.test_pipeline())
        if self.classes is not None:
            dataset['classes'] = list(self.classes)
        return Config(
            dict(
                default_scope='mmtl',
                model=model,
                data_preprocessor=dict(
                    type='TransferDataPreprocessor',
                    mean=list(self.mean),
                    std=list(self.std),
                    to_rgb=self.to_rgb,
                ),
                input_size=self.input_size,
                test_dataloader=dict(batch_size=32, num_workers=0, dataset=dataset),
            )
        )

    def test_pipeline(self) -> List[dict]:
        """mmtl's test pipeline at this card's size and resize."""
        if self.test_resize == 'crop':
            resize = [
                dict(
                    type='ResizeEdge',
                    scale=eval_resize_size(self.input_size),
                    edge='short',
                    interpolation=self.interpolation,
                ),
                dict(type='CenterCrop', crop_size=self.input_size),
            ]
        else:
            resize = [dict(type='Resize', scale=self.input_size, interpolation=self.interpolation)]
        return [dict(type='LoadImage'), *resize, dict(type='PackInputs')]


# --------------------------------------------------------------------------------------------
# mmtl's base models
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _base_model_configs(config_dir: str) -> Dict[str, dict]:
    models_dir = osp.join(config_dir, '_base_', 'models')
    models = {}
    for entry in sorted(os.listdir(models_dir)):
        if entry.endswith('.py'):
            model = Config.fromfile(osp.join(models_dir, entry)).get('model')
            if isinstance(model, Mapping) and model.get('head'):
                models[entry[: -len('.py')]] = model.to_dict()
    return models


def base_model_configs() -> Dict[str, dict]:
    """``{name: model dict}`` of mmtl's base model configs (``configs/_base_/models``).

    Returns:
        dict: A name for each base model file, and its ``model`` (mmtl's own files). Read
        once and shared: copy a model before changing it.
    """
    dirs = packaged_config_dirs()
    return _base_model_configs(dirs[0]) if dirs else {}


def _without(mapping: Mapping, keys: frozenset) -> dict:
    return {k: v for k, v in mapping.items() if k not in keys}


def _architecture(model: Mapping) -> Tuple[Optional[str], Dict[str, Any]]:
    """The base model ``model`` is (with the head options it adds), or ``(None, {})``."""
    if model.get('type') not in CLASSIFIER_TYPES:
        return None, {}

    def body(model: Mapping) -> dict:
        rest = _without(model, TRAINING_MODEL_KEYS | {'backbone', 'head'})
        return plain(
            dict(rest, backbone=_without(model.get('backbone', {}), TRAINING_BACKBONE_KEYS))
        )

    head = model.get('head') or {}
    for name, base in base_model_configs().items():
        if body(model) != body(base):
            continue
        base_head = base['head']
        if plain(_without(head, TRAINING_HEAD_KEYS)) == plain(
            _without(base_head, TRAINING_HEAD_KEYS)
        ):
            return name, {}
        options = _without(head, TRAINING_HEAD_KEYS | {'type', 'in_channels'})
        if (
            head.get('type') == OPTIONS_HEAD
            and head.get('in_channels') == base_head.get('in_channels')
            and set(options) <= set(HEAD_OPTION_CHECKS)
        ):
            return name, plain(options)
    return None, {}


def _test_resize(pipeline: Sequence, input_size: int) -> Optional[Tuple[str, str]]:
    """``(test_resize, interpolation)`` when ``pipeline`` is one of mmtl's test pipelines."""
    if not pipeline or not all(isinstance(step, Mapping) for step in pipeline):
        return None
    steps = [dict(step, type=transform_name(step)) for step in pipeline]
    if not is_image_loader(steps[0]) or steps[-1]['type'] != 'PackInputs':
        return None

    def size(value: Any) -> Any:
        return input_size if plain(value) == [input_size, input_size] else value

    middle = [
        {k: size(v) if k in ('scale', 'crop_size') else v for k, v in step.items()}
        for step in steps[1:-1]
    ]
    interpolation = middle[0].pop('interpolation', 'bilinear') if middle else None
    expected = {
        'crop': [
            dict(type='ResizeEdge', scale=eval_resize_size(input_size), edge='short'),
            dict(type='CenterCrop', crop_size=input_size),
        ],
        'square': [dict(type='Resize', scale=input_size)],
    }
    for name, steps in expected.items():
        if middle == steps:
            return name, interpolation
    return None


def card_from_config(
    cfg: Config, classes: Optional[Sequence[str]] = None
) -> Tuple[Optional[ModelCard], str]:
    """The card of a training run's model, when mmtl can rebuild it from its own configs.

    Args:
        cfg (Config): The resolved training config (``'auto'`` sizes replaced).
        classes (Sequence[str], optional): The class names of the training data.

    Returns:
        tuple: ``(card, '')``, or ``(None, reason)`` when the model or the test pipeline is
        not one of mmtl's (a checkpoint without a card needs its config to be used).
    """
    architecture, head = _architecture(cfg.get('model') or {})
    if architecture is None:
        return None, "the model is not one of mmtl's base models (configs/_base_/models)"
    pipeline = find_test_dataset(cfg).get('pipeline')
    input_size = cfg.get('input_size')
    if not pipeline or not isinstance(input_size, int):
        return None, 'the config has no test pipeline sized by input_size'
    resize = _test_resize(pipeline, input_size)
    if resize is None:
        return None, "the test pipeline is not one of mmtl's (LoadImage, resize, PackInputs)"
    preprocessor = model_config(cfg).get('data_preprocessor') or {}
    num_classes = cfg.model.head.get('num_classes')
    raw = dict(
        format=CARD_FORMAT,
        architecture=architecture,
        num_classes=num_classes,
        classes=list(classes) if classes is not None else None,
        input_size=input_size,
        mean=list(preprocessor.get('mean', ())),
        std=list(preprocessor.get('std', ())),
        to_rgb=bool(preprocessor.get('to_rgb', False)),
        test_resize=resize[0],
        interpolation=resize[1],
        head=head,
    )
    try:
        return parse_card(raw, 'the training config'), ''
    except ModelCardError as err:
        return None, str(err)


# --------------------------------------------------------------------------------------------
# Reading a card: every value checked, bounded
# --------------------------------------------------------------------------------------------


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value: Any, low: float, high: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _hidden_channels(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) <= MAX_HIDDEN_LAYERS
        and all(_whole(v, 1, MAX_HIDDEN_CHANNELS) for v in value)
    )


#: mmtl's head options and what each may hold.
HEAD_OPTION_CHECKS = {
    'hidden_channels': _hidden_channels,
    'dropout': lambda v: _number(v, 0.0, 0.99),
    'source_classes': lambda v: v is None or _whole(v, 1, MAX_CLASSES),
}


def is_printable_name(name: Any) -> bool:
    """Whether ``name`` is a non-empty class name without the characters that
    :func:`~.prediction_rows.safe_text` would have to escape (controls, bidi marks)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_CLASS_NAME_CHARS
        and not UNSAFE_CHARS.search(name)
    )


def check_class_names(classes: Any, source: str, key: str = 'classes') -> Tuple[str, ...]:
    """Class names read from outside: a list of distinct, printable, bounded strings.

    Args:
        classes: The value read.
        source (str): Where it was read, for the message.
        key (str): Its key, for the message.

    Returns:
        tuple[str]: The names.

    Raises:
        ModelCardError: Not a list of names, too many, a duplicate, or a name with a
            control character (which could forge output rows or reach the terminal).
    """
    if not isinstance(classes, (list, tuple)) or not 0 < len(classes) <= MAX_CLASSES:
        raise ModelCardError(f'{source}: {key} must be a list of 1 to {MAX_CLASSES} class names')
    for index, name in enumerate(classes):
        if not is_printable_name(name):
            raise ModelCardError(
                f'{source}: {key}[{index}] is not a class name (a string of 1 to '
                f'{MAX_CLASS_NAME_CHARS} printable characters): {ascii(name)[:80]}'
            )
    if len(set(classes)) != len(classes):
        seen = set()
        duplicate = next(name for name in classes if name in seen or seen.add(name))
        raise ModelCardError(f'{source}: {key} names {duplicate!r} twice')
    return tuple(classes)


#: Each card field and its check.
_FIELD_CHECKS = {
    'format': lambda v: v == CARD_FORMAT,
    'architecture': lambda v: isinstance(v, str) and v in base_model_configs(),
    'num_classes': lambda v: _whole(v, 1, MAX_CLASSES),
    'classes': lambda v: True,  # checked by check_class_names
    'input_size': lambda v: _whole(v, *INPUT_SIZE_RANGE),
    'mean': lambda v: (
        isinstance(v, (list, tuple)) and len(v) in (1, 3) and all(_number(x, 0.0, 255.0) for x in v)
    ),
    'std': lambda v: (
        isinstance(v, (list, tuple))
        and len(v) in (1, 3)
        and all(_number(x, 1e-3, 255.0) for x in v)
    ),
    'to_rgb': lambda v: isinstance(v, bool),
    'test_resize': lambda v: v in TEST_RESIZES,
    'interpolation': lambda v: v in INTERPOLATIONS,
    'head': lambda v: (
        isinstance(v, Mapping)
        and set(v) <= set(HEAD_OPTION_CHECKS)
        and all(HEAD_OPTION_CHECKS[k](x) for k, x in v.items())
    ),
}


def parse_card(raw: Any, source: str) -> ModelCard:
    """Check a card's values one by one and build the :class:`ModelCard`.

    Args:
        raw: The card as read (a dict of plain values).
        source (str): Where it was read, for messages.

    Returns:
        ModelCard: The card.

    Raises:
        ModelCardError: One line naming the first key that is missing, unknown or out of
            bounds (the value is shown escaped and cut short).
    """
    if not isinstance(raw, Mapping):
        raise ModelCardError(f'{source}: the model card is not a mapping of plain values')
    unknown = sorted(str(k) for k in raw if k not in _FIELD_CHECKS)
    if unknown:
        raise ModelCardError(f'{source}: the model card has unknown key(s) {ascii(unknown)[:120]}')
    required = ('format', 'architecture', 'num_classes', 'input_size', 'mean', 'std')
    missing = [k for k in required if k not in raw]
    if missing:
        raise ModelCardError(f'{source}: the model card lacks {", ".join(missing)}')
    for key, check in _FIELD_CHECKS.items():
        if key in raw and not check(raw[key]):
            raise ModelCardError(
                f'{source}: model card {key}={ascii(raw[key])[:80]} is out of bounds '
                f"or not one of mmtl's values"
            )
    classes = raw.get('classes')
    if classes is not None:
        classes = check_class_names(classes, source, 'model card classes')
        if len(classes) != raw['num_classes']:
            raise ModelCardError(
                f'{source}: the model card names {len(classes)} classes for a head of '
                f'{raw["num_classes"]}'
            )
    values = {k: v for k, v in raw.items() if k not in ('format', 'classes')}
    values['mean'], values['std'] = tuple(raw['mean']), tuple(raw['std'])
    values['head'] = dict(raw.get('head') or {})
    return ModelCard(classes=classes, **values)


def read_card(checkpoint: Mapping, source: str) -> ModelCard:
    """The model card of a loaded checkpoint.

    Args:
        checkpoint (Mapping): A checkpoint read by mmtl's safe loader.
        source (str): Its path, for messages.

    Returns:
        ModelCard: The checked card.

    Raises:
        ModelCardError: The checkpoint has no card (it needs its config), or the card is
            malformed.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    raw = meta.get(CARD_KEY) if isinstance(meta, Mapping) else None
    if raw is None:
        raise ModelCardError(
            f'{source} carries no mmtl model card (trained with a model or test pipeline '
            f"outside mmtl's base configs, or by another tool): give its config too, "
            f'e.g. init_model(CONFIG, {source!r})'
        )
    card = parse_card(raw, source)
    _check_hidden_layers_against_weights(card, checkpoint, source)
    return card


def _check_hidden_layers_against_weights(card: ModelCard, checkpoint: Mapping, source: str) -> None:
    """Refuse a card whose hidden head layers hold more weights than the checkpoint's head.

    The model is built from the card before its tensors are compared, so a card from outside
    could otherwise make ``init_model`` allocate a head of any size within the card's bounds.
    """
    hidden = list(card.head.get('hidden_channels') or [])
    if not hidden:
        return
    dims = [base_model_configs()[card.architecture]['head']['in_channels'], *hidden]
    declared = sum(a * b for a, b in zip(dims, dims[1:]))
    state = checkpoint.get('state_dict', checkpoint)
    held = sum(
        value.numel()
        for key, value in (state.items() if isinstance(state, Mapping) else ())
        if str(key).removeprefix('module.').startswith('head.') and hasattr(value, 'numel')
    )
    if declared > held:
        raise ModelCardError(
            f'{source}: model_card.head.hidden_channels={hidden} declares {declared:,} head '
            f'weights, but the checkpoint holds {held:,}: the card does not describe these weights'
        )
