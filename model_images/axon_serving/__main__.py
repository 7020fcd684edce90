"""``python -m axon_serving`` is ``axon-serve``."""

from axon_serving.cli import main

main()
