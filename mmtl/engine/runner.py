"""mmengine's Runner with learning-rate scaling that counts gradient accumulation."""

from typing import Dict, List, Optional, Union

from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import BaseLoop, Runner
from torch.utils.data import DataLoader

from mmtl.registry import RUNNERS


def effective_batch_size(world_size: int, batch_size: int, accumulative_counts: int) -> int:
    """Images that contribute to one optimizer step.

    Args:
        world_size (int): Number of processes.
        batch_size (int): Images per process and iteration.
        accumulative_counts (int): Iterations whose gradients are summed before a step.

    Returns:
        int: ``world_size * batch_size * accumulative_counts``.
    """
    return world_size * batch_size * accumulative_counts


def _wrapper_list(optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> List[OptimWrapper]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def accumulative_counts_of(optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> int:
    """The gradient accumulation steps of a built optimizer wrapper (1 without accumulation).

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): Built wrapper(s).

    Returns:
        int: The largest ``accumulative_counts`` among the wrappers.
    """
    # mmengine keeps the setting in a private attribute and offers no accessor.
    return max(getattr(w, '_accumulative_counts', 1) for w in _wrapper_list(optim_wrapper))


@RUNNERS.register_module()
class MMTLRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, with lr scaling by the effective batch.

    mmengine scales the lr by ``world_size * batch_size / base_batch_size`` and ignores
    ``optim_wrapper.accumulative_counts``, although an accumulated step sees that many times
    more images. Here the ratio is ``world_size * batch_size * accumulative_counts /
    base_batch_size``. At the start of training one line (rank 0) reports every factor and
    the lr before and after scaling, whether or not scaling is enabled, and a second line
    how the training images are shared among the processes.
    """

    def scale_lr(
        self,
        optim_wrapper: Union[OptimWrapper, OptimWrapperDict],
        auto_scale_lr: Optional[Dict] = None,
    ) -> None:
        """Multiply the lr of every parameter group by effective batch / base batch.

        Called by :meth:`train` after the optimizer is built and before the parameter
        schedulers record their initial lr.

        Args:
            optim_wrapper (OptimWrapper | OptimWrapperDict): The built optimizer wrapper(s).
            auto_scale_lr (dict, optional): ``enable`` and ``base_batch_size``; scaling
                happens only when ``enable`` is true.
        """
        # Built by train() just before; the config dict when called on an unbuilt runner.
        if isinstance(self._train_loop, BaseLoop):
            loader = self._train_loop.dataloader
        else:
            loader = self._train_dataloader
        if isinstance(loader, DataLoader):  # with a batch sampler, the batch is its own
            batch_size = loader.batch_size or loader.batch_sampler.batch_size
        else:
            batch_size = loader['batch_size']
        accumulate = accumulative_counts_of(optim_wrapper)
        total = effective_batch_size(self.world_size, batch_size, accumulate)
        wrappers = _wrapper_list(optim_wrapper)
        base_lr = wrappers[0].optimizer.param_groups[0]['lr']
        batch = (
            f'Batch: world size {self.world_size} x {batch_size} per process x {accumulate} '
            f'accumulation step(s) = effective batch {total}'
        )
        if not (auto_scale_lr and auto_scale_lr.get('enable', False)):
            self.logger.info(f'{batch}. lr {base_lr:g} (not scaled: auto_scale_lr is off).')
        else:
            if 'base_batch_size' not in auto_scale_lr:
                raise ValueError('auto_scale_lr is enabled but has no base_batch_size')
            base_batch = auto_scale_lr['base_batch_size']
            ratio = total / base_batch
            for wrapper in wrappers:
                for group in wrapper.optimizer.param_groups:
                    group['lr'] = group['lr'] * ratio
            self.logger.info(
                f'{batch}; the lr was set for a batch of {base_batch}. Scaling the original LR '
                f'by {ratio:g}: lr {base_lr:g} -> {base_lr * ratio:g}.'
            )
        self._log_data_split(loader)

    def _log_data_split(self, loader: Union[DataLoader, Dict]) -> None:
        """Log how many training images the sampler of each process yields per epoch."""
        if not isinstance(loader, DataLoader) or loader.sampler is None:
            return
        # With a batch sampler, DataLoader.sampler is torch's default over the whole dataset.
        sampler = getattr(loader.batch_sampler, 'sampler', None) or loader.sampler
        try:
            per_process = len(sampler)
            total = len(loader.dataset)
        except TypeError:  # samplers and datasets without a length (streams)
            return
        self.logger.info(
            f'Training data: {total} images, {per_process} per process in each of '
            f'{self.world_size} processes ({len(loader)} iterations per epoch).'
        )
