"""Write the weights of a checkpoint as a pickle-free ``.safetensors`` file.

    python tools/export_safetensors.py CHECKPOINT [--out OUT.safetensors]
    mim run mmtl export_safetensors work_dirs/mobilenet-v2_fruit/best_accuracy_top1_epoch_28.pth

writes ``work_dirs/mobilenet-v2_fruit/best_accuracy_top1_epoch_28.safetensors`` (the checkpoint's
name with ``.safetensors`` in place of its extension, beside it) unless ``--out`` names the file.

Keeps the weights and the class names (``meta.dataset_meta``); drops optimizer state and the
rest. The result loads with ``load_from=OUT.safetensors``, ``--checkpoint OUT.safetensors``
or ``init_model(config, 'OUT.safetensors')``, and can be shared without the risk that comes
with unpickling a ``.pth`` file.
"""

import argparse
import os.path as osp
import sys

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export checkpoint weights as safetensors')
    parser.add_argument('checkpoint', help='a .pth checkpoint (loaded with weights_only)')
    parser.add_argument(
        '--out', help='output file (default: beside CHECKPOINT, its extension -> .safetensors)'
    )
    return parser.parse_args(argv)


def default_output(checkpoint: str) -> str:
    """The file written when ``--out`` is not given.

    Args:
        checkpoint (str): The input checkpoint path.

    Returns:
        str: ``checkpoint`` with its extension replaced by ``.safetensors``.
    """
    return osp.splitext(checkpoint)[0] + '.safetensors'


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.utils.checkpoint import safe_torch_load  # torch: after --help
    from mmtl.utils.safetensors_io import save_safetensors

    out = args.out or default_output(args.checkpoint)
    if osp.abspath(out) == osp.abspath(args.checkpoint):
        print(
            f'export_safetensors.py: error: the output {out} is the input checkpoint; '
            'name another file with --out',
            file=sys.stderr,
        )
        return 2

    count = save_safetensors(safe_torch_load(args.checkpoint), out)
    print(f'wrote {count} tensors to {out}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
