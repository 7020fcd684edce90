"""The ``axon`` command line: deploy, inspect and manage APIs, on AWS or against the local stack."""
