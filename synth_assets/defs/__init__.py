"""Dagster wiring only: assets, checks, resources and jobs built from the pure modules."""
