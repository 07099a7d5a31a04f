# Baseline "from scratch": the same network with random weights.
load_from = None
