"""mmtl visualizers (mmpretrain's ``UniversalVisualizer`` serves the default runtime)."""
