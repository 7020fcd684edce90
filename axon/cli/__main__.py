"""``python -m axon.cli``: the same as the ``axon`` console script."""

from axon.cli.app import main

main()
