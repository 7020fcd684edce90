"""``python -m axon.cli``: the same as the ``axon`` console script."""

from axon.cli.start import main

main()
