"""Exports: the datasets users take away, with a dataset card and a SHA-256 manifest."""
