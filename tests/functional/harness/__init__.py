"""Tests of axon_local.patches: each moto patch proven against moto itself."""
