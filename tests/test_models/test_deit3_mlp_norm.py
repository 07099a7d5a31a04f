"""mmtl's DeiT III backbone runs each block as the paper and its weights do."""

import torch
from mmpretrain.models import DeiT3

from mmtl.models.backbones import DeiT3WithMlpNorm
from mmtl.models.backbones.deit3 import MlpNormLayer


def tiny(cls):
    torch.manual_seed(0)
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    model = cls(arch=arch, img_size=32, patch_size=8)
    model.eval()  # mmpretrain's train() returns None
    with torch.no_grad():  # norms unlike each other, as in trained weights
        for name, param in model.named_parameters():
            if 'ln' in name or 'gamma' in name:
                param.copy_(torch.randn_like(param))
    return model


def test_each_block_normalises_the_mlp_input_with_its_second_norm():
    model = tiny(DeiT3WithMlpNorm)
    layer = model.layers[0]
    x = torch.randn(2, 17, 32)
    with torch.no_grad():
        after_attn = x + layer.attn(layer.ln1(x))
        expected = after_attn + layer.ffn.gamma2(layer.ffn.layers(layer.ln2(after_attn)))
        torch.testing.assert_close(layer(x), expected)


def test_same_weights_as_mmpretrain_deit3_and_the_second_norm_matters():
    ours, theirs = tiny(DeiT3WithMlpNorm), tiny(DeiT3)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict(theirs.state_dict())
    image = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = ours(image)[0]
        theirs_before = theirs(image)[0]
        for model in (ours, theirs):
            model.layers[1].ln2.weight.mul_(3.0)
        assert not torch.allclose(ours(image)[0], before)  # ln2 is used
        torch.testing.assert_close(theirs(image)[0], theirs_before)  # mmpretrain's ignores it


def test_blocks_are_built_from_deit3s_arguments():
    arch = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
    kwargs = dict(arch=arch, img_size=32, patch_size=8, drop_path_rate=0.2)
    ours = DeiT3WithMlpNorm(**kwargs, layer_cfgs=dict(qkv_bias=False))
    theirs = DeiT3(**kwargs, layer_cfgs=dict(qkv_bias=False))
    assert all(type(layer) is MlpNormLayer for layer in ours.layers)
    assert ours.state_dict().keys() == theirs.state_dict().keys()  # no qkv bias in either
    assert [layer.attn.out_drop.drop_prob for layer in ours.layers] == [
        layer.attn.out_drop.drop_prob for layer in theirs.layers
    ]
