"""Models by name: ``get_model('mobilenet-v2_fruit')`` and ``list_models('*fruit*')``.

The names are those of mmtl's model index (``model-index.yml``, which ``mim search mmtl``
reads): one per config. The index is in ``mmtl/.mim``, or at the root of a source checkout.
"""

import difflib
import fnmatch
import os.path as osp
from functools import cache
from typing import Dict, List, Optional, Tuple, Union

from mmengine.logging import MMLogger

from mmtl.config.load import load_config, packaged_config_dirs
from mmtl.engine.loading import HEAD_PREFIX, load_into, read_weights
from mmtl.utils.errors import CheckpointDownloadError, ConfigError

from .inference import checkpoint_classes, init_model


@cache
def model_index() -> Dict[str, Tuple[str, str]]:
    """Every model of the index: lower-case name -> its name as written, its config file.

    Raises:
        FileNotFoundError: mmtl has no model index beside its configs.
    """
    from modelindex import load

    indexes = [osp.join(osp.dirname(d), 'model-index.yml') for d in packaged_config_dirs()]
    path = next((p for p in indexes if osp.isfile(p)), None)
    if path is None:
        raise FileNotFoundError(
            'mmtl has no model index beside its configs; reinstall mmtl '
            '(pip install -e . --no-use-pep517, or pip install .)'
        )
    root = osp.dirname(path)
    return {m.name.lower(): (m.name, osp.join(root, m.config)) for m in load(path).models}


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of mmtl's models, sorted; ``pattern`` filters them (shell-style, any case).

    Args:
        pattern (str, optional): e.g. ``'*fruit*'`` or ``'resnet50_*'``. Defaults to None:
            all models.

    Returns:
        list[str]: The matching names, usable with :func:`get_model` and ``mim train mmtl``.
    """
    names = sorted(name for name, _ in model_index().values())
    if pattern is None:
        return names
    return [name for name in names if fnmatch.fnmatch(name.lower(), pattern.lower())]


def model_config_file(name: str) -> str:
    """The config file of the model ``name`` (any case; a trailing ``.py`` is allowed).

    Raises:
        ConfigError: No model has that name (the closest names are suggested).
    """
    key = name.lower().removesuffix('.py')
    index = model_index()
    if key in index:
        return index[key][1]
    close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.5)
    hint = f'; did you mean {", ".join(repr(index[c][0]) for c in close)}?' if close else ''
    raise ConfigError(f'no mmtl model named {name!r}{hint} (see mmtl.list_models())')


def get_model(
    model: str,
    pretrained: Union[bool, str] = False,
    num_classes: Optional[int] = None,
    device: str = 'cpu',
    **overrides,
):
    """Build one of mmtl's models by name, as ``mmpretrain.get_model`` does.

    Args:
        model (str): A name from :func:`list_models`, or the path of a config file.
        pretrained (bool | str): False (default): the weights as built. True: the config's
            ``load_from``. A path or URL: those weights, loaded by
            :func:`mmtl.engine.loading.load_into` (transfer rule, partial loads allowed): tensors
            whose shape differs from the model's (an ImageNet head for ``num_classes=3``) are
            left as built, and a log line names them.
        num_classes (int, optional): Classes of the head. Defaults to None: the config's.
        device (str): Where to put the model. Defaults to ``'cpu'``.
        **overrides: Keys merged into the config's ``model`` (nested dicts merge), e.g.
            ``head=dict(dropout=0.2)`` or ``backbone=dict(widen_factor=0.5)``.

    Returns:
        torch.nn.Module: The classifier in eval mode, with ``_config`` (the config) and
        ``_dataset_meta`` (class names when the weights carry them and fit the head).

    Raises:
        ConfigError: An unknown name, ``pretrained=True`` for a config without weights,
            or weights of which no tensor fits the model.
        CheckpointDownloadError: The weights are a URL that is not cached and cannot be
            downloaded.
    """
    is_file = model.endswith('.py') and osp.isfile(model)
    cfg = load_config(model if is_file else model_config_file(model))
    model_options = dict(overrides)
    if num_classes is not None:
        model_options['head'] = dict(model_options.get('head', {}), num_classes=int(num_classes))
    if model_options:
        cfg.merge_from_dict({'model': model_options})

    source = cfg.get('load_from') if pretrained is True else pretrained or None
    if pretrained is True and not source:
        raise ConfigError(
            f'{model}: pretrained=True, but its config has no load_from weights; '
            'pass pretrained=PATH_OR_URL'
        )

    net = init_model(cfg, None, device='cpu')
    if source is not None:
        try:
            checkpoint = read_weights(source)
        except CheckpointDownloadError as err:  # it advises --cfg-options, here pretrained=
            raise CheckpointDownloadError(
                f"{err}\nIn Python: get_model({model!r}, pretrained='/path/to/file.pth')"
            ) from None
        fit = load_into(
            net,
            checkpoint,
            'transfer',
            source=source,
            allow_partial=True,
            logger=MMLogger.get_current_instance(),
        )
        if not fit.loaded:
            raise ConfigError(
                f'no tensor of {source} fits the model (none with a name and shape of the '
                'model): weights of another architecture?'
            )
        head_fits = not any(k.startswith(HEAD_PREFIX) for k in [*fit.other_shape, *fit.missing])
        classes = checkpoint_classes(checkpoint, source) if head_fits else None
        if classes is not None:
            net._dataset_meta = {'classes': classes}
    return net.to(device).eval()
