"""An image classifier whose named sub-modules can be frozen and unfrozen while it trains."""

from typing import Iterable, List, Sequence

import torch.nn as nn
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.necks import GeneralizedMeanPooling, GlobalAveragePooling

from mmtl.registry import MODELS
from mmtl.utils.errors import ConfigError
from mmtl.utils.modules import find_submodules

from ..necks import AdaptivePoolFlatten

#: Necks that pool a feature map: none can follow a backbone that pools itself.
POOLING_NECKS = (GlobalAveragePooling, GeneralizedMeanPooling, AdaptivePoolFlatten)
#: mmpretrain's switches by which a backbone pools its own output to ``N x C`` features:
#: ConvNeXt's global average pooling before its final norm, a ViT's class token or mean token.
SELF_POOLING = {'gap_before_final_norm': (True,), 'out_type': ('cls_token', 'avg_featmap')}


@MODELS.register_module()
class TransferClassifier(ImageClassifier):
    """:class:`mmpretrain.models.ImageClassifier` with frozen sub-modules for transfer learning.

    A frozen module has ``requires_grad=False`` on all its parameters and stays in eval mode,
    so that its weights and buffers (BatchNorm statistics) come out of training bit-identical,
    the same way for every backbone (mmpretrain's ``frozen_stages`` differs per backbone and
    leaves some stem BatchNorms updating their statistics).

    Examples:
        Linear probe (only the head trains)::

            model = dict(type='TransferClassifier', frozen_modules=['backbone'])

        Partial fine-tuning of a ResNet (stem and first two stages frozen)::

            frozen_modules=['backbone.conv1', 'backbone.bn1', 'backbone.layer1',
                            'backbone.layer2']

    Args:
        frozen_modules (Sequence[str]): Dotted names of the modules to freeze, e.g.
            ``'backbone'``, ``'backbone.layer1'``, ``'head.fc'``. Defaults to ``()``.
        **kwargs: Arguments of :class:`mmpretrain.models.ImageClassifier`
            (``backbone``, ``neck``, ``head``, ``data_preprocessor``, ...).
    """

    def __init__(self, frozen_modules: Sequence[str] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        pools_itself = any(
            getattr(self.backbone, switch, None) in values
            for switch, values in SELF_POOLING.items()
        )
        if isinstance(self.neck, POOLING_NECKS) and pools_itself:
            raise ConfigError(
                f'model.neck: {type(self.neck).__name__} pools the output of '
                f'{type(self.backbone).__name__}, which is already pooled (N x C): set '
                'model.neck=None'
            )
        self._one_hot_classes_from_head()
        self.frozen_modules: List[str] = []
        self.freeze(frozen_modules)

    def _one_hot_classes_from_head(self) -> None:
        """Give the one-hot labels of batch augments (Mixup, CutMix) the head's class count."""
        preprocessor = self.data_preprocessor
        head_classes = getattr(self.head, 'num_classes', None)
        if not getattr(preprocessor, 'to_onehot', False) or head_classes is None:
            return
        if preprocessor.num_classes is None:
            preprocessor.num_classes = head_classes
        elif preprocessor.num_classes != head_classes:
            raise ConfigError(
                f'data_preprocessor.num_classes={preprocessor.num_classes} differs from '
                f'model.head.num_classes={head_classes}: drop data_preprocessor.num_classes '
                '(the head gives it)'
            )

    def freeze(self, names: Iterable[str]) -> None:
        """Freeze the named modules: no gradients, eval mode from now on.

        Args:
            names (Iterable[str]): Dotted module names.
        """
        for name, module in find_submodules(self, names, label='frozen_modules:').items():
            module.eval()
            for param in module.parameters():
                param.requires_grad_(False)
            if name not in self.frozen_modules:
                self.frozen_modules.append(name)

    def unfreeze(self, names: Iterable[str]) -> List[nn.Parameter]:
        """Unfreeze the named modules.

        A name may be a frozen module, hold frozen modules (all of them are released), or lie
        inside a frozen module: ``unfreeze(['backbone.layer4'])`` with ``'backbone'`` frozen
        replaces ``'backbone'`` by its other top-level blocks, which stay frozen.

        Args:
            names (Iterable[str]): Dotted module names.

        Returns:
            list[nn.Parameter]: The parameters that now require gradients again.
        """
        released = []
        for name, module in find_submodules(self, names, label='frozen_modules:').items():
            self._split_frozen_ancestor(name)
            inside = [n for n in self.frozen_modules if n == name or n.startswith(name + '.')]
            if not inside:
                raise ValueError(
                    f'unfreeze: {name!r} is not frozen and holds no frozen module '
                    f'(frozen: {self.frozen_modules})'
                )
            for frozen in inside:
                self.frozen_modules.remove(frozen)
            for param in module.parameters():
                if not param.requires_grad:
                    param.requires_grad_(True)
                    released.append(param)
            module.train(self.training)
        return released

    def _split_frozen_ancestor(self, name: str) -> None:
        """Replace a frozen ancestor of ``name`` by its children, down to ``name`` itself."""
        parts = name.split('.')
        for depth in range(1, len(parts)):
            ancestor = '.'.join(parts[:depth])
            if ancestor not in self.frozen_modules:
                continue
            self.frozen_modules.remove(ancestor)
            children = [
                f'{ancestor}.{child}'
                for child, sub in self.get_submodule(ancestor).named_children()
                if any(True for _ in sub.parameters()) or any(True for _ in sub.buffers())
            ]
            self.frozen_modules.extend(children)

    def train(self, mode: bool = True) -> 'TransferClassifier':
        """Set train/eval mode, keeping frozen modules in eval mode.

        Args:
            mode (bool): Training mode for the modules that are not frozen.

        Returns:
            TransferClassifier: self.
        """
        super().train(mode)
        for name in self.frozen_modules:
            self.get_submodule(name).eval()
        return self
