"""mmengine's epoch-based training loop, resumable from the middle of an epoch."""

import itertools

from mmengine.runner import EpochBasedTrainLoop

from mmtl.registry import LOOPS


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's EpochBasedTrainLoop that, resumed after a mid-epoch stop, skips the
    batches already trained (the seeded sampler draws the same order again) instead of
    training the whole epoch again.

    Args:
        by_epoch (bool): Accepted so that configs can keep ``train_cfg.by_epoch=True``.
        **kwargs: Those of :class:`mmengine.runner.EpochBasedTrainLoop`.
    """

    def __init__(self, *args, by_epoch: bool = True, **kwargs) -> None:
        if not by_epoch:
            raise ValueError(
                'train_cfg.by_epoch=False: ResumableEpochBasedTrainLoop trains by epochs; for '
                'iterations remove train_cfg.type and set max_iters'
            )
        super().__init__(*args, **kwargs)

    def batches_done_in_epoch(self) -> int:
        """Batches of the current epoch trained before a resume (0 at an epoch boundary)."""
        length = len(self.dataloader)
        done = self._iter - self._epoch * length
        return done if 0 < done < length else 0

    def run_epoch(self) -> None:
        done = self.batches_done_in_epoch()
        if not done:
            return super().run_epoch()
        self.runner.logger.info(
            f'Resuming inside epoch {self._epoch + 1}: batches 1-{done} of '
            f'{len(self.dataloader)} were trained before the stop and are skipped.'
        )
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(itertools.islice(self.dataloader, done, None), done):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
