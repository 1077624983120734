"""Tabular lane, pure logic: sources, splits and SDV synthesizers (no Dagster imports)."""
