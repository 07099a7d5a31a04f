from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .model_summary_hook import ModelSummaryHook

__all__ = ['CheckpointLoadReportHook', 'ModelSummaryHook', 'compare_state_dicts']
