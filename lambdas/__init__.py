"""Thin Lambda handlers: parse the event, call one function of the core, return."""
