"""mmengine's Runner with mmtl's config meaning, checks before any work, and lr scaling
that counts gradient accumulation."""

import contextlib
import contextvars
import copy
from typing import Callable, Dict, Iterator, Optional, Union

from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.runner import Runner

from mmtl.config.check import validate_config
from mmtl.config.model_card import CARD_KEY, card_from_config
from mmtl.config.resolve import resolve_config
from mmtl.engine.hooks.class_weight_hook import add_class_weight_hook
from mmtl.engine.hooks.effective_lr_hook import optim_wrapper_list
from mmtl.engine.hooks.progress_bar_hook import quiet_console
from mmtl.registry import RUNNERS
from mmtl.utils.errors import ConfigError, UserError
from mmtl.utils.modules import bare_model

from .loading import PARTIAL_LOAD_KEY, load_into, read_weights
from .resume_check import check_resumable_optimizer
from .work_dir_lock import lock_work_dir

#: The config as written while :meth:`MMTLRunner.from_cfg` builds from its resolved copy.
_SOURCE_CFG: contextvars.ContextVar = contextvars.ContextVar('mmtl_source_cfg', default=None)


def lr_scale_factor(cfg: Config, world_size: int = 1) -> float:
    """The factor ``auto_scale_lr`` gives the lr, read from a config before any Runner exists
    (:meth:`MMTLRunner.scale_lr` applies the same to the built loader and wrapper).

    Args:
        cfg (Config): A config with ``train_dataloader`` and ``optim_wrapper``.
        world_size (int): Number of processes. Defaults to 1.

    Returns:
        float: Effective batch / ``auto_scale_lr.base_batch_size``; 1 when scaling is off.
    """
    scale = cfg.get('auto_scale_lr') or {}
    if not scale.get('enable', False):
        return 1.0
    accumulate = cfg.optim_wrapper.get('accumulative_counts', 1)
    return world_size * cfg.train_dataloader.batch_size * accumulate / scale['base_batch_size']


def accumulative_counts_of(optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> int:
    """The gradient accumulation steps of a built optimizer wrapper (1 without accumulation).

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): Built wrapper(s).

    Returns:
        int: The largest ``accumulative_counts`` among the wrappers.
    """
    # mmengine keeps the setting in a private attribute and offers no accessor.
    return max(getattr(w, '_accumulative_counts', 1) for w in optim_wrapper_list(optim_wrapper))


@contextlib.contextmanager
def errors_name_section(section: str) -> Iterator[None]:
    """Re-raise a user error met while building ``section``'s dataloader naming its keys
    (a dataset names ``train_dataloader.dataset...``); a ValueError becomes a ConfigError.

    Args:
        section (str): ``'train_dataloader'``, ``'val_dataloader'`` or ``'test_dataloader'``.
    """
    try:
        yield
    except (UserError, FileNotFoundError, ValueError) as err:
        message = str(err)
        if section != 'train_dataloader':
            message = message.replace('train_dataloader.', f'{section}.')
        if section not in message:
            message = f'{section}.dataset: {message}'
        error_type = type(err) if isinstance(err, (UserError, FileNotFoundError)) else ConfigError
        raise error_type(message) from None


@RUNNERS.register_module()
class MMTLRunner(Runner):
    """mmengine's Runner that checks the config and runs its resolved copy
    (:meth:`from_cfg`; the work dir gets the config as written, ``source_cfg``), runs every
    hook's ``check_setup(runner)`` before any data is read, and scales the lr by
    ``world_size * batch_size * accumulative_counts / base_batch_size``."""

    def __init__(self, *args, cfg=None, **kwargs) -> None:
        source = _SOURCE_CFG.get()
        # mmengine's __init__ dumps `cfg` (work dir, visualizer): give it the config as written.
        super().__init__(*args, cfg=source if source is not None else cfg, **kwargs)
        self.source_cfg = self.cfg
        if source is not None:
            self.cfg = copy.deepcopy(cfg)
        # Picks load_checkpoint's rule: outside test(), val() and resume() it is training.
        self._loading_for = 'training'
        self.call_hook('check_setup')  # mmtl's hook point: a ConfigError before any data is read

    @classmethod
    def from_cfg(cls, cfg: Union[Config, dict]) -> 'MMTLRunner':
        """Resolve a copy of ``cfg``, check it, and build the Runner from it.

        Args:
            cfg (Config | dict): The config as written (file + overrides).

        Returns:
            MMTLRunner: Built from the resolved copy; dumps ``cfg`` as written.

        Raises:
            ConfigError: The config is wrong (one line, before any work).
        """
        source = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(copy.deepcopy(cfg))
        resolved = resolve_config(source)
        add_class_weight_hook(resolved)  # class_weight='auto': resolved from the train split
        validate_config(resolved)
        token = _SOURCE_CFG.set(source)
        try:
            return super().from_cfg(resolved)
        finally:
            _SOURCE_CFG.reset(token)

    def build_logger(
        self, log_level: Union[int, str] = 'INFO', log_file: Optional[str] = None, **kwargs
    ):
        """mmengine's logger, its console quiet unless ``verbose=True`` (the file keeps all)."""
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        if not self.cfg.get('verbose', False):
            quiet_console(logger)
        return logger

    def train(self):
        """mmengine's train in a locked work dir, then every hook's ``on_exit(runner)``
        however training ended (mmengine calls ``after_run`` only on success).

        Returns:
            nn.Module: The trained model, as mmengine's ``train`` returns it.
        """
        work_dir_lock = lock_work_dir(self.work_dir)
        try:
            return super().train()
        finally:
            self.call_hook('on_exit')
            work_dir_lock.release()

    def build_train_loop(self, loop):
        with errors_name_section('train_dataloader'):
            return super().build_train_loop(loop)

    def build_val_loop(self, loop):
        with errors_name_section('val_dataloader'):
            return super().build_val_loop(loop)

    def build_test_loop(self, loop):
        with errors_name_section('test_dataloader'):
            return super().build_test_loop(loop)

    def scale_lr(
        self,
        optim_wrapper: Union[OptimWrapper, OptimWrapperDict],
        auto_scale_lr: Optional[Dict] = None,
    ) -> None:
        """Multiply the lr of every parameter group by effective batch / base batch.

        Args:
            optim_wrapper (OptimWrapper | OptimWrapperDict): The built optimizer wrapper(s).
            auto_scale_lr (dict, optional): ``enable`` and ``base_batch_size``; scaling
                happens only when ``enable`` is true.
        """
        # mmengine's train() calls this once the train loop is built.
        loader = self._train_loop.dataloader
        batch_size = loader.batch_size or loader.batch_sampler.batch_size  # a batch sampler's
        accumulate = accumulative_counts_of(optim_wrapper)
        total = self.world_size * batch_size * accumulate
        wrappers = optim_wrapper_list(optim_wrapper)
        base_lr = wrappers[0].optimizer.param_groups[0]['lr']
        batch = (
            f'Batch: world size {self.world_size} x {batch_size} per process x {accumulate} '
            f'accumulation step(s) = effective batch {total}'
        )
        if not (auto_scale_lr and auto_scale_lr.get('enable', False)):
            self.logger.info(f'{batch}. lr {base_lr:g} (not scaled: auto_scale_lr is off).')
        else:  # validate_config refused an enabled auto_scale_lr without base_batch_size
            base_batch = auto_scale_lr['base_batch_size']
            ratio = total / base_batch
            for wrapper in wrappers:
                for group in wrapper.optimizer.param_groups:
                    group['lr'] = group['lr'] * ratio
            self.logger.info(
                f'{batch}; the lr was set for a batch of {base_batch}. Scaling the original LR '
                f'by {ratio:g}: lr {base_lr:g} -> {base_lr * ratio:g}.'
            )
        # With a batch sampler, DataLoader.sampler is torch's default over the whole dataset.
        sampler = getattr(loader.batch_sampler, 'sampler', None) or loader.sampler
        self.logger.info(
            f'Training data: {len(loader.dataset)} images, {len(sampler)} per process in each '
            f'of {self.world_size} processes ({len(loader)} iterations per epoch).'
        )

    @contextlib.contextmanager
    def _loading(self, purpose: str) -> Iterator[None]:
        before, self._loading_for = self._loading_for, purpose
        try:
            yield
        finally:
            self._loading_for = before

    def resume(self, filename: str, *args, **kwargs) -> None:
        with self._loading('resuming'):
            super().resume(filename, *args, **kwargs)

    def test(self) -> dict:
        with self._loading('testing'):
            return super().test()

    def val(self) -> dict:
        with self._loading('testing'):
            return super().val()

    def load_checkpoint(
        self,
        filename: str,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: list = [(r'^module.', '')],  # noqa: B006  (mmengine's signature)
    ) -> dict:
        """Load through :func:`~.loading.load_into`: ``'exact'`` for testing and resuming,
        ``'transfer'`` for ``load_from`` when training (``strict`` is ignored: the rule decides).

        Raises:
            CheckpointFitError: The checkpoint does not fit (one line).
        """
        del strict
        checkpoint = read_weights(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = bare_model(self.model)
        if self._loading_for == 'training':
            allow_partial = bool(self.cfg.get(PARTIAL_LOAD_KEY, False))
            mode, extra = 'transfer', dict(allow_partial=allow_partial, logger=self.logger)
        else:
            mode, extra = 'exact', dict(purpose=self._loading_for)
        load_into(model, checkpoint, mode, source=filename, revise_keys=revise_keys, **extra)
        if self._loading_for == 'resuming':
            check_resumable_optimizer(checkpoint, self.optim_wrapper, filename)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def save_checkpoint(
        self, out_dir: str, filename: str, *args, meta: Optional[dict] = None, **kwargs
    ) -> None:
        """mmengine's save, with the model card in ``meta`` when there is one."""
        if not hasattr(self, '_card'):  # made at the first save, logged once
            metainfo = getattr(self.train_dataloader.dataset, 'metainfo', None) or {}
            card, reason = card_from_config(self.cfg, metainfo.get('classes'))
            self._card = card.to_dict() if card is not None else None
            if card is None:
                self.logger.info(
                    f'Checkpoints carry no model card ({reason}): use them with this config.'
                )
        meta = dict(meta or {})
        if self._card is not None:
            meta[CARD_KEY] = self._card
        super().save_checkpoint(out_dir, filename, *args, meta=meta, **kwargs)


# The root registry too, so that ``runner_type='MMTLRunner'`` builds through mmengine's own
# ``RUNNERS.build(cfg)`` (the standard OpenMMLab train script) without a default scope.
MMENGINE_RUNNERS.register_module(module=MMTLRunner)
