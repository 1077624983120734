"""Validation metrics, pure logic (no Dagster imports). Definitions follow DESIGN.md."""
