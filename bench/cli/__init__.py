"""``python -m bench.cli``: how long the ``axon`` command takes to start (medians of repeated runs)."""
