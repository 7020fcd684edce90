"""Serving benchmark: axon-serve vs LitServe vs hand-written uvicorn apps, and batching on a fixed-cost device."""
