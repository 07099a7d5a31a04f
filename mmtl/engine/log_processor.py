"""Validation and test timings under their own scalar names, apart from training's."""

from collections import OrderedDict
from typing import Tuple

from mmengine.runner import LogProcessor

from mmtl.registry import LOG_PROCESSORS

TIMING_KEYS = ('time', 'data_time')


@LOG_PROCESSORS.register_module()
class EvalTimeTagLogProcessor(LogProcessor):
    """mmengine's LogProcessor, with validation and test timings as ``<mode>/time`` and
    ``<mode>/data_time`` (under training's names TensorBoard draws one zig-zag curve)."""

    def get_log_after_epoch(
        self, runner, batch_idx: int, mode: str, with_non_scalar: bool = False
    ) -> Tuple[dict, str]:
        """The scalars and log line of a finished validation or test run.

        Args:
            runner: The runner.
            batch_idx (int): Index of the last batch.
            mode (str): ``'val'`` or ``'test'``.
            with_non_scalar (bool): Also return non-scalar values. Defaults to False.

        Returns:
            tuple[dict, str]: The tag (timings renamed) and the log string.
        """
        tag, log_str = super().get_log_after_epoch(runner, batch_idx, mode, with_non_scalar)
        renamed = OrderedDict(
            (f'{mode}/{key}' if key in TIMING_KEYS else key, value) for key, value in tag.items()
        )
        return renamed, log_str
