"""synth_assets: validated synthetic training data as Dagster software-defined assets."""

__version__ = "0.1.0"
