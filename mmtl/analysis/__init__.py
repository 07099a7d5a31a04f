"""Looking inside models, datasets and runs: summaries, hooks on layers, statistics."""
