"""mmpretrain's DeiT III with each block's MLP input normalised by its own norm."""

from mmpretrain.models.backbones.deit3 import DeiT3, DeiT3TransformerEncoderLayer

from mmtl.registry import MODELS


class _MlpNormLayer(DeiT3TransformerEncoderLayer):
    """A DeiT III block: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``.

    mmpretrain 1.2.0's layer feeds the MLP ``ln1(x)``, so the published weights' second norm
    (``ln2``, loaded but unused there) never runs; the DeiT III paper and its weights use it.
    """

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


@MODELS.register_module()
class DeiT3WithMlpNorm(DeiT3):
    """:class:`mmpretrain.models.DeiT3` whose blocks use their second norm before the MLP.

    Takes the same arguments and loads the same checkpoints as ``DeiT3``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for layer in self.layers:
            # Same parameters, corrected forward: the layers mmpretrain built stay as they are.
            layer.__class__ = _MlpNormLayer
