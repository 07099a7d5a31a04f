"""Resolve ``class_weight='auto'`` in the model's losses from the training split."""

from typing import Any, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.hooks import Hook

from mmtl.registry import HOOKS
from mmtl.utils.errors import ConfigError
from mmtl.utils.modules import bare_model
from mmtl.utils.prediction_rows import safe_text

AUTO = 'auto'


def _class_weight_entries(node: Any, key: str = 'model') -> Iterator[Tuple[str, Any]]:
    """``(dotted key, value)`` of every ``class_weight`` in a config tree."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            dotted = f'{key}.{child_key}'
            if child_key == 'class_weight':
                yield dotted, child
            else:
                yield from _class_weight_entries(child, dotted)
    elif isinstance(node, (list, tuple)):
        for index, child in enumerate(node):
            yield from _class_weight_entries(child, f'{key}.{index}')


def add_class_weight_hook(cfg: Config) -> bool:
    """Add :class:`ClassWeightHook` to ``custom_hooks`` when a loss has ``class_weight='auto'``.

    Args:
        cfg (Config): The config, changed in place.

    Returns:
        bool: Whether some loss asks for automatic class weights.

    Raises:
        ConfigError: A ``class_weight`` holds a string other than ``'auto'``.
    """
    auto = False
    for key, value in _class_weight_entries(cfg.get('model') or {}):
        if isinstance(value, str):
            if value != AUTO:
                raise ConfigError(
                    f"{key}={value!r}: expected 'auto' (inverse class frequency of the "
                    'training split), a list with one weight per class, or None'
                )
            auto = True
    if not auto:
        return False
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('ClassWeightHook') for h in hooks):
        hooks.append(dict(type='ClassWeightHook'))
    cfg.custom_hooks = hooks
    return True


def apply_auto_class_weights(model, dataset) -> Optional[str]:
    """Give every loss of ``model`` with ``class_weight='auto'`` the inverse class frequency.

    Args:
        model: The model (a DDP wrapper is fine).
        dataset: The training dataset whose labels are counted.

    Returns:
        str | None: What was set, for the log; None when no loss asks for ``'auto'``.
    """
    from mmtl.datasets.class_counts import class_counts, dataset_labels, inverse_frequency_weights

    model = bare_model(model)
    losses = [m for m in model.modules() if getattr(m, 'class_weight', None) == AUTO]
    if not losses:
        return None
    labels = dataset_labels(dataset)
    names = list((getattr(dataset, 'metainfo', None) or {}).get('classes') or [])
    num_classes = len(names) or int(labels.max()) + 1
    counts = class_counts(labels, num_classes)
    weights = inverse_frequency_weights(counts)
    for loss in losses:
        loss.class_weight = weights
    names = names or [str(i) for i in range(num_classes)]
    parts = [f'{safe_text(n)} n={int(c)} w={w:.3g}' for n, c, w in zip(names, counts, weights)]
    return 'inverse class frequency of the training split, N/(C*n_c): ' + ', '.join(parts)


@HOOKS.register_module()
class ClassWeightHook(Hook):
    """Set every ``class_weight='auto'`` loss to ``N / (C * n_c)`` from the train split's
    labels, logged once (added by :func:`add_class_weight_hook`)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        line = apply_auto_class_weights(runner.model, runner.train_dataloader.dataset)
        if line:
            runner.logger.info('class_weight=auto: ' + line)
