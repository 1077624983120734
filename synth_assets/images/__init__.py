"""Image lane, pure logic: sources, the diffusion model and the feature extractor (no Dagster)."""
