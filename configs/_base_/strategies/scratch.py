# Baseline "from scratch": the same network with random weights (no load_from).
strategy = dict(name='scratch', load_from=None)
