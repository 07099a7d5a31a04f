"""Whether the CPU computes bfloat16 natively: the default ``--amp`` choice on a CPU."""

import platform
from typing import FrozenSet


def cpu_bf16_features() -> FrozenSet[str]:
    """The CPU's native bfloat16 features, as torch's own CPU checks report them.

    Returns:
        frozenset[str]: ``'avx512_bf16'`` and/or ``'amx_bf16'`` (Intel Cooper Lake / Sapphire
        Rapids and later, AMD Zen 4 and later); empty where bfloat16 would be emulated.
    """
    import torch.cpu

    checks = {
        'avx512_bf16': torch.cpu._is_avx512_bf16_supported,
        'amx_bf16': torch.cpu._is_amx_tile_supported,
    }
    return frozenset(name for name, supported in checks.items() if supported())


def cpu_name() -> str:
    """A short description of the CPU for log lines."""
    return platform.processor() or platform.machine() or 'this CPU'
