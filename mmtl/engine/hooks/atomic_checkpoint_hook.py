"""mmengine's CheckpointHook, safe against crashes and full disks: each checkpoint is written
to a temporary file, fsynced and renamed into place, then ``last_checkpoint`` moves, and only
then is what fell out of ``max_keep_ckpts`` removed (mmengine removes it first)."""

import errno
import glob
import os
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmtl.registry import HOOKS
from mmtl.utils.fileio import atomic_open

ATOMIC_BACKEND = 'mmtl_atomic_local'
#: The checkpoint written when a signal stops training (see GracefulStopHook).
INTERRUPTED_TMPL = 'interrupted_iter_{}.pth'
#: ``errno`` values that mean the disk (or the user's quota) is full.
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class CheckpointWriteError(RuntimeError):
    """A checkpoint (or the ``last_checkpoint`` pointer) could not be written."""


def write_atomically(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    Args:
        data (bytes): The whole content.
        path (str): The destination.

    Raises:
        CheckpointWriteError: The write failed (a full disk says so); ``path`` is unchanged
            and no temporary file is left.
    """
    try:
        with atomic_open(path, 'wb') as f:
            f.write(data)
    except OSError as err:
        if err.errno in NO_SPACE_ERRNOS:
            raise CheckpointWriteError(
                f'no space left on the device while writing {path}; earlier checkpoints kept '
                f'(nothing was removed). Free some space, or move the work dir (--work-dir), '
                f'then continue with --resume.'
            ) from err
        raise CheckpointWriteError(
            f'could not write {path} ({err}); earlier checkpoints kept'
        ) from err


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath) -> None:
        write_atomically(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        write_atomically(obj.encode(encoding), str(filepath))


class _DeferredRemovals:
    """A file backend stand-in that records ``remove``/``rmtree`` instead of doing them."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook (same arguments) that never leaves a partial checkpoint; the
    temporary files of a killed run are removed when training starts again."""

    def before_train(self, runner) -> None:
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        local = '://' not in str(out_dir)
        if local and self.backend_args is None and self.file_client_args is None:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
        if local and is_main_process():
            self._remove_stale_temp_files(runner)
        if self.save_best and runner.iter > 0 and local:  # resumed
            self._adopt_best_checkpoints(runner)

    def _remove_stale_temp_files(self, runner) -> None:
        patterns = [osp.join(self.out_dir, '.*.pth.*.tmp')]
        patterns.append(osp.join(runner.work_dir, '.last_checkpoint.*.tmp'))
        for path in sorted({p for pattern in patterns for p in glob.glob(pattern)}):
            os.remove(path)
            runner.logger.info(f'removed {path}, left by an interrupted checkpoint write')

    def _outdated_checkpoint(self, runner, step: int) -> Optional[str]:
        """Record ``step`` among the kept checkpoints; return the one that falls out."""
        if self.max_keep_ckpts <= 0:
            return None
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return None  # saved again in the same epoch (a new best): nothing new to keep
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            old_step = self.keep_ckpt_ids.popleft()
            old_name = self.filename_tmpl.format(old_step)
            outdated = self.file_backend.join_path(self.out_dir, old_name)
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return outdated

    def _remove_checkpoint(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)  # checkpoints saved by DeepSpeed are folders

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        outdated = self._outdated_checkpoint(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        self._point_last_checkpoint(runner, self.last_ckpt)
        if outdated is not None and outdated != self.last_ckpt:
            self._remove_checkpoint(outdated)

    def _point_last_checkpoint(self, runner, path: str) -> None:
        """Move ``last_checkpoint`` to ``path``; the checkpoints of stopped runs go."""
        write_atomically(str(path).encode('utf-8'), osp.join(runner.work_dir, 'last_checkpoint'))
        for interrupted in glob.glob(osp.join(self.out_dir, INTERRUPTED_TMPL.format('*'))):
            if interrupted != path:
                self._remove_checkpoint(interrupted)

    def save_interrupted(self, runner) -> str:
        """Save ``interrupted_iter_<N>.pth`` (N iterations done) and point ``last_checkpoint``
        at it; the next regular checkpoint removes it.

        Args:
            runner: The runner, inside ``after_train_iter``.

        Returns:
            str: The path written.
        """
        filename = INTERRUPTED_TMPL.format(runner.iter + 1)
        path = self.file_backend.join_path(self.out_dir, filename)
        # by_epoch=False: meta epoch = epochs completed, iter = iterations completed.
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=True,
            save_param_scheduler=True,
            by_epoch=False,
            backend_args=self.backend_args,
        )
        if is_main_process():
            self._point_last_checkpoint(runner, path)
        return path

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """mmengine's best-checkpoint logic, removing the previous best only after saving.

        The epoch checkpoint is not re-written to record the new best (mmengine does, which
        takes the space of another checkpoint): :meth:`_adopt_best_checkpoints` finds the best
        by its own recorded score on resume.
        """
        backend, last_ckpt = self.file_backend, self.last_ckpt
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        self.last_ckpt = None  # mmengine re-saves the epoch checkpoint only when it is set
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend, self.last_ckpt = backend, last_ckpt
        if is_main_process():
            current = set(self._best_paths().values())
            for path in deferred.paths:
                if path != self.last_ckpt and path not in current:
                    self._remove_checkpoint(path)

    def _best_paths(self) -> Dict[str, Optional[str]]:
        """Key indicator -> the best checkpoint this hook knows of."""
        if len(self.key_indicators) == 1:
            return {self.key_indicators[0]: getattr(self, 'best_ckpt_path', None)}
        return dict(getattr(self, 'best_ckpt_path_dict', {}))

    def _adopt_best_checkpoints(self, runner) -> None:
        """On resume: adopt the best ``best_<key>_*.pth`` by its recorded score (it may be
        newer than the resumed checkpoint) and remove the other ones."""
        single = len(self.key_indicators) == 1
        for key in self.key_indicators:
            suffix = '' if single else f'_{key}'
            score_key = 'best_score' + suffix
            pattern = glob.escape(f'best_{key}_'.replace('/', '_')) + '*.pth'
            paths = sorted(glob.glob(osp.join(self.out_dir, pattern)))
            known = self._best_paths().get(key)
            best_path, best_score = known, runner.message_hub.runtime_info.get(score_key)
            for path in paths:
                score = None if path == known else _recorded_score(path, score_key)
                if score is not None and (
                    best_score is None or self.is_better_than[key](score, best_score)
                ):
                    best_path, best_score = path, score
            if best_path != known:
                runner.message_hub.update_info(score_key, best_score)
                runner.message_hub.update_info('best_ckpt' + suffix, best_path)
                if single:
                    self.best_ckpt_path = best_path
                else:
                    self.best_ckpt_path_dict[key] = best_path
                runner.logger.info(
                    f'resume: {best_path} ({key} {best_score:.4f}) is the best checkpoint '
                    f'(written after the resumed checkpoint)'
                )
            for path in paths:
                if path != best_path and is_main_process():
                    self._remove_checkpoint(path)
                    runner.logger.info(f'resume: removed {path}, no longer the best checkpoint')


def _recorded_score(path: str, score_key: str) -> Optional[float]:
    """The best score a best checkpoint recorded about itself (None when unreadable)."""
    from mmtl.utils.checkpoint import safe_torch_load

    try:
        checkpoint = safe_torch_load(path)
    except Exception:  # a file that is not a checkpoint is never the best one
        return None
    hub = checkpoint.get('message_hub') or {}
    info = hub.get('runtime_info', {}) if isinstance(hub, dict) else {}
    score = info.get(score_key)
    return float(score) if isinstance(score, (int, float)) else None
