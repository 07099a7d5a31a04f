"""Train in channels-last memory format."""

import torch
from mmengine.hooks import Hook

from mmtl.registry import HOOKS
from mmtl.utils.modules import bare_model


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put the model's 4-d parameters and buffers (convolution weights) in
    ``torch.channels_last`` memory format before the run starts.

    A convolution whose weight is channels-last returns channels-last activations, so the
    whole network then runs NHWC: the layout cuDNN's tensor-core kernels (and oneDNN on the
    CPU) prefer. Parameters keep their identity (``Module.to`` changes their data in
    place), so optimizers already built still hold them. Values and results are unchanged;
    only the speed is.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert the (unwrapped) model.

        Args:
            runner: The mmengine Runner.
        """
        model = bare_model(runner.model)
        model.to(memory_format=torch.channels_last)
        runner.logger.info('model in channels_last memory format (--channels-last)')
