from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .gradual_unfreeze_hook import GradualUnfreezeHook

__all__ = ['CheckpointLoadReportHook', 'GradualUnfreezeHook', 'compare_state_dicts']
