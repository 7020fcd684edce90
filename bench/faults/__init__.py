"""Fault-injection harness (issue 10): no fault loses an upload, deletes a live version or wedges an API.

``python -m bench.faults`` runs the matrix; ``docs/reliability.md`` ("Fault-injection harness") explains it.
"""
