"""Cross-cutting rules applied to every construct of the app."""
