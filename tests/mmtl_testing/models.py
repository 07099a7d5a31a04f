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
