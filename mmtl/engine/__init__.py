from .hooks import *  # noqa: F401,F403
from .log_processor import EvalTimeTagLogProcessor  # noqa: F401
from .loops import ResumableEpochBasedTrainLoop  # noqa: F401
from .optim_wrappers import BF16AutocastOptimWrapper, TransferOptimWrapperConstructor  # noqa: F401
from .runner import MMTLRunner, accumulative_counts_of  # noqa: F401
