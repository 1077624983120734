"""Validation metrics, pure logic (no Dagster imports). Definitions: docs/metrics.md."""
