"""Autoscaler benchmark: a 1-second endpoint simulator and the policies it compares (see RESULTS.md)."""
