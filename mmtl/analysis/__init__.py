"""Looking inside models, datasets and runs: summaries, layer hooks, Grad-CAM, statistics.

Import the module you need (``mmtl.analysis.model_summary``, ``.gradcam`` ...): the plotting
parts import matplotlib when used.
"""
