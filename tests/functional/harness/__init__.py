"""Tests of axon.local.patches: each moto patch proven against moto itself."""
