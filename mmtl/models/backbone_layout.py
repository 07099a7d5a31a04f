"""The order of a backbone's blocks from input to output, one rule for every family.

Layer-wise lr decay, partial freezing and the analysis tools need it. A block is a direct
child of the backbone that holds parameters; an ``nn.ModuleList`` (a container ``forward``
loops over) stands for its items (a ViT's transformer blocks); a normalisation layer right
after a block belongs to that block (ResNet's ``conv1`` + ``bn1``).
"""

from typing import Dict, List, Tuple

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.normalization import GroupNorm, LayerNorm

#: Normalisation layers: one block with the block before them.
NORM_TYPES = (_BatchNorm, GroupNorm, LayerNorm)


def backbone_items(backbone: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The backbone's children in registration order, ``ModuleList`` s replaced by their items.

    Args:
        backbone (nn.Module): The backbone.

    Returns:
        list[tuple[str, nn.Module]]: ``(name relative to the backbone, module)``.
    """
    items = []
    for name, child in backbone.named_children():
        if isinstance(child, nn.ModuleList):
            items += [(f'{name}.{index}', item) for index, item in enumerate(child)]
        else:
            items.append((name, child))
    return items


def backbone_blocks(backbone: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The items of :func:`backbone_items` that hold parameters: the backbone's blocks.

    Args:
        backbone (nn.Module): The backbone.

    Returns:
        list[tuple[str, nn.Module]]: ``(name relative to the backbone, module)``.
    """
    return [(n, m) for n, m in backbone_items(backbone) if any(True for _ in m.parameters())]


def block_depths(backbone: nn.Module) -> Dict[str, int]:
    """Number the backbone's blocks (see :func:`backbone_blocks`) from the input (0).

    A normalisation layer shares the depth of the block before it, so a stem ``conv1`` +
    ``bn1`` is one level.

    Args:
        backbone (nn.Module): The backbone.

    Returns:
        dict[str, int]: Block name (relative to the backbone) -> depth.
    """
    depths: Dict[str, int] = {}
    depth = -1
    for name, block in backbone_blocks(backbone):
        if not (isinstance(block, NORM_TYPES) and depth >= 0):
            depth += 1
        depths[name] = depth
    return depths


def parameter_depths(model: nn.Module, prefix: str = 'backbone.') -> Tuple[Dict[str, int], int]:
    """The depth of each backbone parameter and the number of levels above the input.

    Depths run from 0 (the input side) to ``num_levels - 1``, the level of whatever follows the
    backbone (neck and head), so that a decay rate ``r`` scales a parameter's lr by
    ``r ** (num_levels - 1 - depth)``: 1 for the head, ``r`` for the last block.

    Args:
        model (nn.Module): A classifier with a ``backbone``.
        prefix (str): The backbone's prefix in parameter names. Defaults to ``'backbone.'``.

    Returns:
        tuple[dict[str, int], int]: Parameter name (full, with prefix) -> depth, for the
        backbone's parameters; and ``num_levels``.
    """
    backbone = model.backbone
    names = [prefix + name for name, _ in backbone.named_parameters()]
    # A backbone with mmpretrain's get_layer_depth that keeps its blocks in a ModuleList or
    # holds parameters itself (a ViT's class token) numbers its parameters as its authors'
    # layer-wise decay recipes do (ViT, Swin, ConvNeXt, ...).
    if callable(getattr(backbone, 'get_layer_depth', None)) and (
        any(isinstance(child, nn.ModuleList) for child in backbone.children())
        or any(True for _ in backbone.parameters(recurse=False))
    ):
        depths, num_levels = {}, 0
        for name in names:
            depth, levels = backbone.get_layer_depth(name, prefix)
            depths[name] = depth
            num_levels = max(num_levels, levels)
        return depths, num_levels
    blocks = block_depths(backbone)
    num_levels = max(blocks.values()) + 2 if blocks else 1
    depths = {}
    for name in names:
        relative = name[len(prefix) :]
        for block, depth in blocks.items():
            if relative.startswith(block + '.'):
                depths[name] = depth
                break
    return depths, num_levels
