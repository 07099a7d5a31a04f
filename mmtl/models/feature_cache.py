"""Where a classifier's frozen prefix ends, and how to run the part after it on stored outputs.

A frozen prefix in eval mode maps an image to the same tensor in every epoch.
:func:`find_cut` names the deepest such point, :func:`run_prefix` computes the tensor there,
inside :func:`features_as_inputs` the model takes those tensors as its ``inputs`` and runs
only the modules after the cut, and :func:`prefix_digest` fingerprints everything the tensor
depends on (for the key of a stored cache).
"""

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn


@dataclass
class Step:
    """One link of a backbone's forward chain.

    Args:
        name (str): The step's name in a cut point (``'layer3'``, ``'layers.5'``).
        members (list[str]): Names under the backbone of the modules and parameters it uses.
        run (Callable): ``x -> x``.
        output (Callable, optional): When the backbone returns this step's result, how
            (``x -> output``); None when it does not.
    """

    name: str
    members: List[str]
    run: Callable[[torch.Tensor], torch.Tensor]
    output: Optional[Callable[[torch.Tensor], torch.Tensor]] = None


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _mobilenet_v2_steps(backbone: nn.Module) -> List[Step]:
    steps = [Step('conv1', ['conv1'], backbone.conv1)]
    for i, name in enumerate(backbone.layers):
        output = _identity if i in backbone.out_indices else None
        steps.append(Step(name, [name], getattr(backbone, name), output))
    return steps


def _resnet_steps(backbone: nn.Module) -> List[Step]:
    if backbone.deep_stem:
        stem = ['stem', 'maxpool']

        def run_stem(x):
            return backbone.maxpool(backbone.stem(x))
    else:
        stem = ['conv1', backbone.norm1_name, 'relu', 'maxpool']

        def run_stem(x):
            return backbone.maxpool(backbone.relu(backbone.norm1(backbone.conv1(x))))

    steps = [Step('stem', stem, run_stem)]
    for i, name in enumerate(backbone.res_layers):
        output = _identity if i in backbone.out_indices else None
        steps.append(Step(name, [name], getattr(backbone, name), output))
    return steps


def _vision_transformer_steps(backbone: nn.Module) -> List[Step]:
    from mmpretrain.models.utils import resize_pos_embed

    # The stored tokens have a fixed count: the patch grid of the training input size.
    resolution = backbone.patch_resolution

    def embed(x):
        x, grid = backbone.patch_embed(x)
        if tuple(grid) != tuple(resolution):
            raise ValueError(
                f'feature cache: a {tuple(grid)} patch grid, the backbone was built for '
                f'{tuple(resolution)}: the test-time view must be the img_size'
            )
        if backbone.cls_token is not None:
            x = torch.cat((backbone.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            backbone.pos_embed,
            backbone.patch_resolution,
            grid,
            mode=backbone.interpolate_mode,
            num_extra_tokens=backbone.num_extra_tokens,
        )
        return backbone.pre_norm(backbone.drop_after_pos(x))

    members = ['patch_embed', 'pos_embed', 'drop_after_pos', 'pre_norm']
    if backbone.cls_token is not None:
        members.append('cls_token')
    steps = [Step('embed', members, embed)]
    last = len(backbone.layers) - 1
    for i, layer in enumerate(backbone.layers):
        run = layer
        names = [f'layers.{i}']
        if i == last and backbone.final_norm:
            names.append('ln1')

            def run(x, layer=layer):
                return backbone.ln1(layer(x))

        output = None
        if i in backbone.out_indices:

            def output(x):
                return backbone._format_output(x, resolution)

        steps.append(Step(f'layers.{i}', names, run, output))
    return steps


#: Backbone class name -> its forward as a chain of :class:`Step` (cuts inside the backbone).
BACKBONE_STEPS: Dict[str, Callable[[nn.Module], List[Step]]] = {
    'MobileNetV2': _mobilenet_v2_steps,
    'ResNet': _resnet_steps,
    'ResNetV1c': _resnet_steps,
    'ResNetV1d': _resnet_steps,
    'ResNeXt': _resnet_steps,
    'VisionTransformer': _vision_transformer_steps,
}


def backbone_steps(backbone: nn.Module) -> Optional[List[Step]]:
    """The backbone's forward chain, or None when :data:`BACKBONE_STEPS` lacks its class."""
    build = BACKBONE_STEPS.get(type(backbone).__name__)
    return build(backbone) if build else None


def _frozen(root: nn.Module, names: List[str]) -> bool:
    """Whether every named member of ``root`` (a module or a parameter of its own) has no
    trainable parameter and is in eval mode."""
    params = dict(root.named_parameters(recurse=False))
    for name in names:
        if name in params:
            tensors, modules = [params[name]], []
        else:
            member = root.get_submodule(name)
            tensors, modules = list(member.parameters()), list(member.modules())
        if any(p.requires_grad for p in tensors):
            return False
        if any(m.training and _changes_in_training(m) for m in modules):
            return False
    return True


def _changes_in_training(module: nn.Module) -> bool:
    """Whether train mode changes what ``module`` computes (its own norms, dropout)."""
    own = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return module.p > 0
    return bool(own) or getattr(module, 'drop_prob', 0) > 0


def find_cut(model: nn.Module) -> Optional[str]:
    """The deepest point up to which the classifier's forward is frozen, or None.

    Args:
        model (nn.Module): An mmpretrain ``ImageClassifier`` (or subclass).

    Returns:
        str, optional: None when not even the first step is frozen, else

        - ``'neck'``: the backbone is frozen and the neck has no parameters (the pooled
          vectors are stored, the head alone runs). Any backbone.
        - ``'backbone'``: the backbone is frozen, the neck trains. Any one-output backbone.
        - ``'backbone.<step>'``: the backbone's steps up to ``<step>`` are frozen; backbones
          whose forward is a chain of steps (:data:`BACKBONE_STEPS`).
    """
    backbone = model.backbone
    names = [name for name, _ in backbone.named_children()]
    names += [name for name, _ in backbone.named_parameters(recurse=False)]
    if _frozen(backbone, names):
        neck = getattr(model, 'neck', None)
        return 'neck' if neck is None or not list(neck.parameters()) else 'backbone'
    steps = backbone_steps(backbone) or []
    cut = None
    for step in steps:
        if not _frozen(backbone, step.members) or (step.output is not None):
            break
        cut = f'backbone.{step.name}'
    return cut


def _step_index(backbone: nn.Module, cut: str) -> Tuple[List[Step], int]:
    steps = backbone_steps(backbone)
    return steps, [s.name for s in steps].index(cut[len('backbone.') :])


def _last(outputs) -> torch.Tensor:
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != 1:
            raise ValueError(
                f'feature cache: the backbone returns {len(outputs)} outputs (out_indices); '
                'a cut at the backbone stores one'
            )
        return outputs[0]
    return outputs


@torch.no_grad()
def run_prefix(model: nn.Module, inputs: torch.Tensor, cut: str) -> torch.Tensor:
    """The tensor at ``cut`` for preprocessed ``inputs`` (the model's frozen prefix, no grad).

    Args:
        model (nn.Module): The classifier.
        inputs (torch.Tensor): A batch out of the model's data preprocessor.
        cut (str): A cut point (see :func:`find_cut`).

    Returns:
        torch.Tensor: One row per image.
    """
    if cut == 'neck':
        return model.extract_feat(inputs, stage='neck')[-1]
    if cut == 'backbone':
        return _last(model.backbone(inputs))
    steps, index = _step_index(model.backbone, cut)
    x = inputs
    for step in steps[: index + 1]:
        x = step.run(x)
    return x


def _run_tail(model: nn.Module, cut: str, x: torch.Tensor, stage: str = 'neck'):
    """``model.extract_feat`` from the tensor at ``cut`` on (same ``stage`` values)."""
    feats = (x,)
    if cut.startswith('backbone.'):
        steps, index = _step_index(model.backbone, cut)
        outs = []
        for step in steps[index + 1 :]:
            x = step.run(x)
            if step.output is not None:
                outs.append(step.output(x))
        feats = tuple(outs)
    if cut != 'neck':
        if stage == 'backbone':
            return feats
        if model.with_neck:
            feats = model.neck(feats)
    if stage == 'neck':
        return feats
    if stage == 'pre_logits':
        return model.head.pre_logits(feats)
    raise ValueError(f'extract_feat: stage {stage!r} is not available from a cut at {cut!r}')


@contextlib.contextmanager
def features_as_inputs(model: nn.Module, cut: str) -> Iterator[None]:
    """Inside, ``model`` takes the tensors at ``cut`` as its inputs and runs the rest only.

    The data preprocessor stacks and moves them (no normalisation, no batch augments) and
    ``extract_feat`` starts at the cut; the model's modules and state dict are untouched (the
    two methods are shadowed on the instances and restored on exit).

    Args:
        model (nn.Module): The classifier (not its DDP wrapper).
        cut (str): A cut point (see :func:`find_cut`).
    """
    preprocessor = model.data_preprocessor

    def extract_feat(inputs, stage='neck'):
        return _run_tail(model, cut, inputs, stage)

    def forward(data, training=False):
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        return preprocessor.cast_data({'inputs': inputs, 'data_samples': data.get('data_samples')})

    model.extract_feat = extract_feat
    preprocessor.forward = forward
    try:
        yield
    finally:
        del model.extract_feat
        del preprocessor.forward


def _prefix_tensors(model: nn.Module, cut: str) -> List[Tuple[str, torch.Tensor]]:
    """``(name, tensor)`` of every parameter and buffer of the prefix up to ``cut``."""
    if cut in ('neck', 'backbone'):
        state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
        if cut == 'neck' and getattr(model, 'neck', None) is not None:
            state.update({f'neck.{k}': v for k, v in model.neck.state_dict().items()})
        return list(state.items())
    steps, index = _step_index(model.backbone, cut)
    members = [name for step in steps[: index + 1] for name in step.members]
    inside = tuple(f'{name}.' for name in members)
    return [
        (f'backbone.{key}', tensor)
        for key, tensor in model.backbone.state_dict().items()
        if key in members or key.startswith(inside)
    ]


def prefix_digest(model: nn.Module, cut: str) -> str:
    """A SHA-256 of everything the tensor at ``cut`` depends on besides the image.

    The cut, the backbone class, the preprocessor's mean/std/channel order, and the values of
    every parameter and buffer of the prefix: another checkpoint, another cut or another
    normalisation gives another digest.

    Returns:
        str: Hex digest.
    """
    digest = hashlib.sha256(f'{cut}\t{type(model.backbone).__name__}\n'.encode())
    preprocessor = model.data_preprocessor
    for name in ('mean', 'std'):
        value = getattr(preprocessor, name, None)
        if isinstance(value, torch.Tensor):
            digest.update(name.encode() + value.detach().cpu().double().numpy().tobytes())
    digest.update(repr(getattr(preprocessor, '_channel_conversion', None)).encode())
    for name, tensor in _prefix_tensors(model, cut):
        data = tensor.detach().cpu().contiguous()
        digest.update(f'{name}\t{tuple(data.shape)}\t{data.dtype}\n'.encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
