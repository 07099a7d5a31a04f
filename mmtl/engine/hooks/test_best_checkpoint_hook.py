"""``runner.test()`` after ``runner.train()`` tests the best checkpoint, and says so."""

from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import BaseLoop

from mmtl.registry import HOOKS


def best_checkpoint_of(runner) -> str:
    """The best checkpoint the runner's checkpoint hook kept (first key indicator), or ''."""
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            path = getattr(hook, 'best_ckpt_path', None)
            paths = getattr(hook, 'best_ckpt_path_dict', None) or {}
            return path or next(iter(paths.values()), None) or ''
    return ''


@HOOKS.register_module()
class TestBestCheckpointHook(Hook):
    """After ``train()``, test the best checkpoint (as Lightning's ``ckpt_path='best'``); a
    fresh runner tests what it loaded."""

    priority = 'VERY_HIGH'  # before the hooks that read the model in before_test

    def before_test(self, runner) -> None:
        if not isinstance(runner._train_loop, BaseLoop) or runner.iter == 0:
            return  # nothing trained in this runner: the tool loaded what it was given
        best = best_checkpoint_of(runner)
        if not best:
            runner.logger.info(
                f'Testing the weights training ended with (iteration {runner.iter}); there is '
                f'no best checkpoint'
            )
            return
        runner.load_checkpoint(best)
        runner.logger.info(
            f'Testing the best checkpoint {best}, not the weights training ended with '
            f'(iteration {runner.iter}); the model now holds the best weights'
        )
