"""README command 1's transfer demo: pretrain on digits 0-4, fine-tune on few images of 5-9.

    python tools/demo_transfer.py [--work-dir work_dirs/demo_transfer] [--seeds 0 1 2 3 4] [--tiny]

Every training and test is a ``mim train mmtl`` / ``mim test mmtl`` of a config written to
WORK_DIR/configs/, its output to WORK_DIR/logs/; the last lines print both test top-1 scores
and the transfer gain over training from scratch, mean ± std over the seeds. See
tools/experiments/transfer_demo.py.
"""

from experiments.transfer_demo import main

from mmtl.utils.cli import exit_tool

if __name__ == '__main__':
    exit_tool(main)
