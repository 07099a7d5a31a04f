"""Train in channels-last memory format."""

import torch
from mmengine.hooks import Hook

from mmtl.registry import HOOKS
from mmtl.utils.modules import bare_model


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's 4-d parameters and buffers in ``torch.channels_last`` format before
    the run, so that the network runs NHWC (what cuDNN's tensor cores and oneDNN prefer).
    ``Module.to`` keeps the parameters' identity, so built optimizers still hold them."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert the (unwrapped) model.

        Args:
            runner: The mmengine Runner.
        """
        model = bare_model(runner.model)
        model.to(memory_format=torch.channels_last)
        runner.logger.info('model in channels_last memory format (--channels-last)')
