"""The arguments of a training or test run and the device it runs on.

``tools/train.py`` and ``tools/test.py`` (``mim train/test mmtl``) parse them; ``mmtl.fit`` and
``mmtl.test`` fill the same namespace, so that both paths mean the same.
"""

import argparse
import os
from typing import List, Optional

from mmengine.config import DictAction

from .errors import ConfigError


def add_device_argument(
    parser: argparse.ArgumentParser, action: str = 'run', allow_index: bool = True
) -> None:
    """Add the ``--device`` argument every mmtl tool shares (default ``auto``).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        action (str): What the tool does on the device, for the help text.
        allow_index (bool): Whether ``cuda:N`` is accepted (not by train/test, whose launcher
            assigns GPUs). Defaults to True.
    """
    choices = ('auto', 'cpu', 'cuda') + (('cuda:N',) if allow_index else ())

    def device(text: str) -> str:
        index = text[len('cuda:') :] if text.startswith('cuda:') else ''
        if text in choices[:3] or (allow_index and index.isdigit()):
            return text
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a device; use one of {", ".join(choices)}'
        )

    parser.add_argument(
        '--device',
        type=device,
        default='auto',
        metavar='|'.join(choices),
        help=f'device to {action} on (default: auto, a CUDA GPU when one is available)',
    )


def resolve_device(device: str) -> str:
    """The torch device a ``--device`` value means on this machine.

    Args:
        device (str): ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Returns:
        str: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Raises:
        ConfigError: A GPU was asked for that this process cannot see.
    """
    import torch

    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda'):
        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.split(':')[1]) if ':' in device else 0
        if index >= visible:
            raise ConfigError(
                f'--device {device}: this process sees {visible} CUDA GPU(s)'
                + (f' (cuda:0 to cuda:{visible - 1})' if visible else '')
            )
    return device


def select_device(device: str) -> None:
    """Restrict the process to the requested device, before CUDA is initialised.

    Args:
        device (str): ``'auto'`` (GPU when available), ``'cpu'`` or ``'cuda'``.
    """
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    elif device == 'cuda':
        resolve_device(device)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number >= 1, got {text!r}')
    return int(text)


def _run_parser(description: str, action: str) -> argparse.ArgumentParser:
    """The config and the arguments that training and testing share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--work-dir', help='where logs, checkpoints and metrics go (default: work_dirs/<config>)'
    )
    add_device_argument(parser, action, allow_index=False)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/fruit optim_wrapper.optimizer.lr=0.1',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help=f'job launcher for distributed {action}ing',
    )
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='print the full log (environment, config, hooks) on the console too, not only in '
        "the work dir's log file (sets the config's verbose=True)",
    )
    # torch.distributed.launch passes --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return parser


def train_parser() -> argparse.ArgumentParser:
    """Arguments of ``tools/train.py`` (and ``mim train mmtl``)."""
    parser = _run_parser('Train a classifier from a config', 'train')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or from the latest one in the work dir when no '
        'path is given',
    )
    parser.add_argument(
        '--amp',
        nargs='?',
        const='auto',
        choices=['auto', 'none', 'fp16', 'bf16'],
        help='training precision. Default (and --amp alone, = auto): bf16 autocast on CUDA '
        'GPUs that support it (else fp16 with loss scaling) and on CPUs with native bfloat16 '
        '(AVX-512 BF16 / AMX / Arm BF16), float32 on other CPUs; a config that sets its own '
        'optim_wrapper.type keeps it. none: float32; fp16 (CUDA only) or bf16 when named',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help="torch.compile the training step (mmengine's cfg.compile=True); the first "
        'iterations are slow while it compiles',
    )
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='train with the model in channels-last memory format (faster convolutions on '
        'GPUs with tensor cores, usually with --amp)',
    )
    parser.add_argument(
        '--accumulate',
        type=positive_int,
        metavar='N',
        help='sum the gradients of N iterations per optimizer step (effective batch = '
        'processes x batch_size x N); sets optim_wrapper.accumulative_counts',
    )
    parser.add_argument(
        '--sync-bn',
        action='store_true',
        help='synchronise BatchNorm statistics across GPU processes (torch SyncBatchNorm)',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the effective batch (processes x batch_size x accumulation) / '
        'auto_scale_lr.base_batch_size',
    )
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation during training'
    )
    return parser


def test_parser() -> argparse.ArgumentParser:
    """Arguments of ``tools/test.py`` (and ``mim test mmtl``)."""
    parser = _run_parser('Evaluate a checkpoint on the test split', 'test')
    # The checkpoint positionally (tools/test.py CONFIG CKPT) or as --checkpoint (the way
    # `mim test` is typed); tools/test.py checks that exactly one is given.
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help="checkpoint file or URL, or 'best' (the default) or 'last' of the work dir",
    )
    parser.add_argument(
        '--checkpoint',
        '-C',
        dest='checkpoint_option',
        metavar='CHECKPOINT',
        help="the checkpoint, given as an option instead (also 'best' or 'last')",
    )
    parser.add_argument(
        '--out-metrics', help='metrics JSON file (default: <work_dir>/test_metrics.json)'
    )
    return parser


def parse_tool_args(
    parser: argparse.ArgumentParser, argv: Optional[List[str]] = None
) -> argparse.Namespace:
    """Parse a train or test ``argv``; export ``LOCAL_RANK`` for launchers that pass it as an
    argument, and fold ``--verbose`` into the config options.

    Args:
        parser (argparse.ArgumentParser): :func:`train_parser` or :func:`test_parser`, or a
            tool's parser built on one.
        argv (list[str], optional): The arguments. Defaults to None: ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The arguments.
    """
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.verbose:
        args.cfg_options = dict(args.cfg_options or {}, verbose=True)
    silence_irrelevant_warnings()
    return args


def silence_irrelevant_warnings() -> None:
    """Hide mmcv-lite's warning that its compiled ``MultiScaleDeformableAttention`` is missing.

    mmtl's models need no compiled mmcv ops; the warning comes at every import of mmcv's
    transformer bricks. Only that message is ignored.
    """
    import warnings

    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``', category=UserWarning
    )
