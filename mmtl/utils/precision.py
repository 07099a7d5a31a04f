"""Which numeric precision a device runs fastest at the same accuracy: detection of native
bfloat16 on the CPU, and the default ``--amp`` choice per device."""

import platform
from typing import FrozenSet

#: /proc/cpuinfo flags of CPUs that compute in bfloat16 natively: x86 AVX-512 BF16 and AMX
#: (Intel Cooper Lake / Sapphire Rapids and later, AMD Zen 4 and later), Arm's BF16 extension.
NATIVE_BF16_FLAGS = frozenset({'avx512_bf16', 'amx_bf16', 'bf16'})


def cpu_flags(path: str = '/proc/cpuinfo') -> FrozenSet[str]:
    """The CPU feature flags the kernel reports (``flags`` on x86, ``Features`` on Arm).

    Args:
        path (str): The cpuinfo file. Defaults to ``'/proc/cpuinfo'``.

    Returns:
        frozenset[str]: The flags of the first processor; empty where the file is missing
        (not Linux) or unreadable.
    """
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip().lower() in ('flags', 'features'):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (so bf16 autocast is faster).

    Without it, oneDNN emulates bfloat16 and autocast is slower than float32.

    Returns:
        bool: True when a flag of :data:`NATIVE_BF16_FLAGS` is reported.
    """
    return bool(cpu_flags() & NATIVE_BF16_FLAGS)


def cpu_name() -> str:
    """A short description of the CPU for log lines (model name where known)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.partition(':')[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'this CPU'
