"""mmtl hooks."""
