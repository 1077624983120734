"""Anchored mixes: synthetic data with a share of real data always kept."""
