"""mmengine's Runner with mmtl's config meaning, checks before any work, and lr scaling
that counts gradient accumulation."""

import contextlib
import contextvars
import copy
from typing import Callable, Dict, Iterator, List, Optional, Union

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.runner import BaseLoop, Runner
from torch.utils.data import DataLoader

from mmtl.engine.hooks.class_weight_hook import add_class_weight_hook
from mmtl.registry import RUNNERS
from mmtl.utils.config_checks import validate_config
from mmtl.utils.config_semantics import resolve_config
from mmtl.utils.errors import ConfigError, UserError
from mmtl.utils.model_card import CARD_KEY, card_from_config

from .loading import PARTIAL_LOAD_KEY, load_into, read_weights
from .resume_check import check_resumable_optimizer
from .work_dir_lock import lock_work_dir

#: The config as written, while :meth:`MMTLRunner.from_cfg` builds a Runner from its
#: resolved copy (the Runner dumps the former and runs the latter).
_SOURCE_CFG: contextvars.ContextVar = contextvars.ContextVar('mmtl_source_cfg', default=None)


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


@contextlib.contextmanager
def errors_name_section(section: str) -> Iterator[None]:
    """Re-raise a user error met while building ``section`` with the section's own keys.

    A dataset does not know which dataloader it belongs to, so its messages suggest
    ``train_dataloader.dataset...`` keys; while the val or test loop is built they name
    ``val_dataloader`` / ``test_dataloader`` instead. ValueErrors and missing files met
    while building a dataset (an unknown class folder, a missing split) become one-line
    :class:`ConfigError` s that name the section.

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
        try:
            new_error = error_type(message)
        except TypeError:  # an error class with another constructor
            new_error = ConfigError(message)
        raise new_error from None


@RUNNERS.register_module()
class MMTLRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, with mmtl's config meaning, checks
    before any work, and lr scaling by the effective batch.

    **Config meaning.** :meth:`from_cfg` builds the Runner from
    :func:`~mmtl.utils.config_semantics.resolve_config` of a copy of the config
    (``input_size``, ``data_root``, ``'auto'`` loader values, schedulers past the end,
    ``default_hooks.X=None``), after :func:`~mmtl.utils.config_checks.validate_config`
    (keys against the signatures of their types, value ranges, data roots, class count).
    The base runtime sets ``runner_type='MMTLRunner'``, so mmengine's ``RUNNERS.build(cfg)``
    gets here too. ``runner.cfg`` is the resolved config (what runs, and what checkpoints
    record); the config dumped into the work dir, and ``runner.source_cfg``, are the config as
    written, so it re-runs on another machine with another ``data_root``.

    **Checks after building.** A model that cannot be built from its config (an unknown
    ``frozen_modules`` name) and every hook's ``check_setup(runner)`` (e.g. a
    ``GradualUnfreezeHook`` step naming a module the model lacks) fail while the Runner is
    built, before any data is read; errors building a val/test dataloader name its keys.

    **lr scaling.**
    mmengine scales the lr by ``world_size * batch_size / base_batch_size`` and ignores
    ``optim_wrapper.accumulative_counts``, although an accumulated step sees that many times
    more images. Here the ratio is ``world_size * batch_size * accumulative_counts /
    base_batch_size``. At the start of training one line (rank 0) reports every factor and
    the lr before and after scaling, whether or not scaling is enabled, and a second line
    how the training images are shared among the processes.
    """

    def __init__(self, *args, cfg=None, **kwargs) -> None:
        source = _SOURCE_CFG.get()
        # mmengine's __init__ dumps `cfg` (work dir, visualizer): give it the config as written.
        super().__init__(*args, cfg=source if source is not None else cfg, **kwargs)
        self.source_cfg = self.cfg
        if source is not None:
            self.cfg = copy.deepcopy(cfg)
        self.check_setup()

    @classmethod
    def from_cfg(cls, cfg: Union[Config, dict]) -> 'MMTLRunner':
        """Check ``cfg``, apply mmtl's meaning to a copy, and build the Runner from it.

        Args:
            cfg (Config | dict): The config as written (file + overrides).

        Returns:
            MMTLRunner: Built from the resolved copy; dumps ``cfg`` as written.

        Raises:
            ConfigError: A key, value, type, data root or class count is wrong (one line,
                before any work).
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

    def check_setup(self) -> None:
        """Run every hook's ``check_setup(runner)``, once the model and hooks are built.

        A hook that can tell from the built model that its settings cannot work (a module
        name that does not exist) defines ``check_setup`` and raises a
        :class:`~mmtl.utils.errors.ConfigError`; it is called before any data is read.
        """
        for hook in self._hooks:
            check = getattr(hook, 'check_setup', None)
            if callable(check):
                check(self)

    def build_logger(
        self, log_level: Union[int, str] = 'INFO', log_file: Optional[str] = None, **kwargs
    ):
        """mmengine's logger, its console quiet unless the config says ``verbose=True``.

        The work dir's log file keeps every line (see :func:`~mmtl.engine.hooks.
        progress_bar_hook.quiet_console`).
        """
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        if not self.cfg.get('verbose', False):
            from .hooks.progress_bar_hook import quiet_console

            quiet_console(logger)
        return logger

    def train(self):
        """mmengine's train, then every hook's ``on_exit(runner)`` however training ended.

        mmengine calls ``after_run`` only when training succeeds; a hook that changed the
        process (signal handlers) defines ``on_exit`` to undo it after a failure too.
        """
        work_dir_lock = lock_work_dir(self.work_dir)  # one training per work dir at a time
        try:
            return super().train()
        finally:
            for hook in self._hooks:
                on_exit = getattr(hook, 'on_exit', None)
                if callable(on_exit):
                    on_exit(self)
            work_dir_lock.release()

    def build_train_loop(self, loop):
        """mmengine's train loop; errors building its dataloader name its keys."""
        with errors_name_section('train_dataloader'):
            return super().build_train_loop(loop)

    def build_val_loop(self, loop):
        """mmengine's val loop; errors building its dataloader name ``val_dataloader``."""
        with errors_name_section('val_dataloader'):
            return super().build_val_loop(loop)

    def build_test_loop(self, loop):
        """mmengine's test loop; errors building its dataloader name ``test_dataloader``."""
        with errors_name_section('test_dataloader'):
            return super().build_test_loop(loop)

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

    # ----------------------------------------------------------------------------------------
    # Checkpoint loading (owned by the checkpoint-trust work; kept apart from the rest)
    # ----------------------------------------------------------------------------------------

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, with the checkpoint checked as for resuming (exact fit)."""
        self._mmtl_resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._mmtl_resuming = False

    def test(self) -> dict:
        """mmengine's test; a checkpoint it loads must fit exactly (see :meth:`load_checkpoint`)."""
        with self._evaluating():
            return super().test()

    def val(self) -> dict:
        """mmengine's val; a checkpoint it loads must fit exactly (see :meth:`load_checkpoint`)."""
        with self._evaluating():
            return super().val()

    @contextlib.contextmanager
    def _evaluating(self) -> Iterator[None]:
        self._mmtl_evaluating = True
        try:
            yield
        finally:
            self._mmtl_evaluating = False

    def _building_for_training(self) -> bool:
        """Whether a loaded checkpoint is a starting point (``load_from`` of a training run):
        anywhere but inside :meth:`test` / :meth:`val`, which evaluate the weights as they are.

        (Neither the train loop nor the optimizer tell: hooks build the train loop in a test's
        ``before_run`` too, and ``load_or_resume`` may be called before ``train`` builds the
        optimizer.)
        """
        return not getattr(self, '_mmtl_evaluating', False)

    def load_checkpoint(
        self,
        filename: str,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: list = [(r'^module.', '')],  # noqa: B006  (mmengine's signature)
    ) -> dict:
        """Load a checkpoint through mmtl's safe loader and :func:`~.loading.load_into`.

        Testing and resuming need every tensor (``'exact'``); ``load_from`` for training
        needs the backbone (``'transfer'``; ``load_from_partial`` in the config allows less).
        One line reports the result; mmengine's own mismatch dump is not printed. ``strict``
        is mmengine's argument and has no effect: the rule decides.

        Raises:
            CheckpointFitError: The checkpoint does not fit (one line).
        """
        del strict
        checkpoint = read_weights(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if getattr(self, '_mmtl_resuming', False):
            load_into(
                model,
                checkpoint,
                'exact',
                source=filename,
                purpose='resuming',
                revise_keys=revise_keys,
            )
            check_resumable_optimizer(checkpoint, self.optim_wrapper, filename)
        elif self._building_for_training():
            load_into(
                model,
                checkpoint,
                'transfer',
                source=filename,
                allow_partial=bool(self.cfg.get(PARTIAL_LOAD_KEY, False)),
                revise_keys=revise_keys,
                logger=self.logger,
            )
        else:
            load_into(model, checkpoint, 'exact', source=filename, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def save_checkpoint(
        self, out_dir: str, filename: str, *args, meta: Optional[dict] = None, **kwargs
    ) -> None:
        """mmengine's save, with the model card in ``meta`` when the model has one.

        The card (see :mod:`mmtl.utils.model_card`) lets ``init_model(CKPT)``, ``infer.py
        CKPT`` and ``export.py CKPT`` rebuild the model from mmtl's own configs; a model
        outside mmtl's base configs gets none, said once in the log.
        """
        meta = dict(meta or {})
        card = self._model_card()
        if card is not None:
            meta[CARD_KEY] = card
        super().save_checkpoint(out_dir, filename, *args, meta=meta, **kwargs)

    def _model_card(self) -> Optional[dict]:
        if not hasattr(self, '_card'):
            classes = None
            dataset = getattr(self.train_dataloader, 'dataset', None)
            if dataset is not None:
                classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
            card, reason = card_from_config(self.cfg, classes)
            self._card = card.to_dict() if card is not None else None
            if card is None:
                self.logger.info(
                    f'Checkpoints carry no model card ({reason}): use them with this config.'
                )
        return self._card


# The root registry too, so that ``runner_type='MMTLRunner'`` builds through mmengine's own
# ``RUNNERS.build(cfg)`` (the standard OpenMMLab train script) without a default scope.
if 'MMTLRunner' not in MMENGINE_RUNNERS.module_dict:
    MMENGINE_RUNNERS.register_module(module=MMTLRunner)
