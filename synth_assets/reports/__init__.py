"""Scorecards: metric tables with thresholds and plots, as markdown for the Dagster UI and
as one self-contained HTML report."""
