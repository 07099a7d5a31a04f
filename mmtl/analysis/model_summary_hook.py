"""Log what the model costs before training starts: params, FLOPs, memory at the batch size."""

from typing import Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmtl.config.access import input_size_from_config
from mmtl.registry import HOOKS
from mmtl.utils.modules import bare_model

from . import model_summary as ms


@HOOKS.register_module()
class ModelSummaryHook(Hook):
    """Before training, log the parameters, FLOPs of one image and the training memory
    estimate (rank 0); a figure that cannot be computed is a warning.

    Args:
        input_size (Sequence[int], optional): ``(H, W)`` of the input. Defaults to None:
            the size the config's test pipeline produces.
        batch_size (int, optional): Batch of the memory estimate. Defaults to None: the
            ``train_dataloader.batch_size`` of the config.
    """

    priority = 'VERY_LOW'

    def __init__(
        self, input_size: Optional[Sequence[int]] = None, batch_size: Optional[int] = None
    ) -> None:
        self.input_size = tuple(input_size) if input_size is not None else None
        self.batch_size = batch_size

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        model = bare_model(runner.model)
        height, width = self.input_size or input_size_from_config(runner.cfg)
        input_shape = (3, height, width)
        batch_size = self.batch_size or runner.cfg.get('train_dataloader', {}).get('batch_size', 1)
        total, trainable = ms.count_params(model)
        lines = [
            'model summary:',
            f'  parameters: {total:,} total, {trainable:,} trainable, {total - trainable:,} frozen',
        ]
        try:
            flops = ms.count_flops(model, input_shape)
            lines.append(
                f'  FLOPs at 1x3x{height}x{width}: {ms.format_count(flops)} (multiply-adds)'
            )
        except Exception as err:
            runner.logger.warning(f'ModelSummaryHook: FLOPs could not be counted: {err!r}')
        try:
            optimizer = getattr(getattr(runner, 'optim_wrapper', None), 'optimizer', None)
            estimate = ms.estimate_training_memory(model, input_shape, batch_size, optimizer)
            lines.extend('  ' + line for line in ms.format_memory(estimate).splitlines())
        except Exception as err:
            runner.logger.warning(f'ModelSummaryHook: no memory estimate: {err!r}')
        runner.logger.info('\n'.join(lines))
