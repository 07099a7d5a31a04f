"""mmtl's plots (headless, Agg): predictions and test metrics.

mmpretrain's ``UniversalVisualizer`` serves the default runtime's visualisation hook. Import the
module you need: ``figure`` (drawing and saving), ``metric_plots``, ``evaluation_plots`` (the
plots of a ``test_metrics.json``), ``prediction``.
"""
