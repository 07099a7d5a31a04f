"""README command 1's transfer demo: pretrain on digits 0-4, fine-tune on few images of 5-9.

    python tools/demo_transfer.py [--work-dir work_dirs/demo_transfer] [--shots 1] [--tiny]

Every training and test is a ``mim train mmtl`` / ``mim test mmtl`` of a config written to
WORK_DIR/configs/; the last lines print both test top-1 scores and the transfer gain over
training from scratch. See mmtl/experiments/transfer_demo.py.
"""

import sys

from mmtl.experiments.transfer_demo import main

if __name__ == '__main__':
    sys.exit(main())
