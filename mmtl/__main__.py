"""``python -m mmtl [TOOL [ARGS]]``: list mmtl's tools, or run one (see ``mmtl.utils.cli``)."""

import sys

from mmtl.utils.cli import main

sys.exit(main())
