"""Reproducible experiments that show what transfer learning buys, on data shipped offline."""

from .fewshot import (
    STRATEGIES,
    FewShotResult,
    format_results_table,
    make_kshot_folder,
    run_fewshot_experiment,
    warmup_cosine_schedule,
)

__all__ = [
    'STRATEGIES',
    'FewShotResult',
    'format_results_table',
    'make_kshot_folder',
    'run_fewshot_experiment',
    'warmup_cosine_schedule',
]
