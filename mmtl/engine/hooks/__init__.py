from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts

__all__ = ['CheckpointLoadReportHook', 'compare_state_dicts']
