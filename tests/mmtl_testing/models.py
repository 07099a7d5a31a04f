"""Model helpers for the converter parity tests (torch only)."""

import torch


def randomize_batchnorm(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every BatchNorm2d of ``model`` random statistics and affines; return it in eval.

    Fresh BNs (mean 0, var 1, weight 1, bias 0) would hide a BN loaded into the wrong place;
    random ones make every BN tensor count in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                shape = module.running_mean.shape
                module.running_mean.copy_(torch.randn(shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(shape, generator=generator) * 0.5 + 0.3)
                module.bias.copy_(torch.randn(shape, generator=generator) * 0.1)
    return model.eval()


def randomize_vectors(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every 1-D parameter (norm affines, biases, layer scales) random values, and every
    BatchNorm random statistics; return ``model`` in eval mode.

    Fresh LayerNorms (weight 1, bias 0) and layer scales of 1e-6 would hide a norm loaded into
    the wrong place, or a whole residual branch.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1:
                center = 1.0 if name.endswith(('weight', 'gamma', 'layer_scale')) else 0.0
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1 + center)
            elif name.endswith('layer_scale'):  # torchvision ConvNeXt: (C, 1, 1)
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1 + 1.0)
    return randomize_batchnorm(model, seed + 1)
