"""mmpretrain's DeiT III with each block's MLP input normalised by its own norm."""

from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import ModuleList
from mmpretrain.models.backbones.deit3 import DeiT3, DeiT3TransformerEncoderLayer

from mmtl.registry import MODELS


class MlpNormLayer(DeiT3TransformerEncoderLayer):
    """A DeiT III block: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``.

    mmpretrain 1.2.0's layer feeds the MLP ``ln1(x)``, so the published weights' second norm
    (``ln2``, loaded but unused there) never runs; the DeiT III paper and its weights use it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block on tokens ``x`` of shape (batch, tokens, channels)."""
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


@MODELS.register_module()
class DeiT3WithMlpNorm(DeiT3):
    """:class:`mmpretrain.models.DeiT3` whose blocks are :class:`MlpNormLayer`.

    Takes the same arguments (by keyword) and loads the same checkpoints as ``DeiT3``.

    Args:
        drop_rate: Dropout after the position embedding and in each block.
        drop_path_rate: Stochastic depth of the last block (linear from 0 over the blocks).
        qkv_bias: Whether the attention's qkv projection has a bias.
        norm_cfg: The norm of each block and of the final norm (LayerNorm, eps 1e-6).
        use_layer_scale: Whether each block scales its attention and MLP outputs.
        layer_cfgs: Overrides of every block's arguments (a dict), or of each (a sequence).
        **kwargs: ``DeiT3``'s other arguments (``arch``, ``img_size``, ``patch_size``, ...).
    """

    def __init__(
        self,
        *,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        norm_cfg: Optional[dict] = None,
        use_layer_scale: bool = True,
        layer_cfgs: Union[dict, Sequence[dict], None] = None,
        **kwargs,
    ) -> None:
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)  # DeiT3's defaults
        layer_cfgs = layer_cfgs or dict()
        super().__init__(
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias,
            norm_cfg=norm_cfg,
            use_layer_scale=use_layer_scale,
            layer_cfgs=layer_cfgs,
            **kwargs,
        )
        # DeiT3 builds its blocks from mmpretrain's layer class; these are the same blocks (same
        # parameters and names, built the same way) with the paper's forward.
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        drop_paths = np.linspace(0, drop_path_rate, self.num_layers)
        self.layers = ModuleList()
        for i in range(self.num_layers):
            layer_cfg = dict(
                embed_dims=self.embed_dims,
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.arch_settings['feedforward_channels'],
                drop_rate=drop_rate,
                drop_path_rate=drop_paths[i],
                qkv_bias=qkv_bias,
                norm_cfg=norm_cfg,
                use_layer_scale=use_layer_scale,
            )
            layer_cfg.update(layer_cfgs[i])
            self.layers.append(MlpNormLayer(**layer_cfg))
