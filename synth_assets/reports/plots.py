"""PNG plots for scorecards (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

REAL_COLOUR, SYNTH_COLOUR = "#1f77b4", "#ff7f0e"


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt, *plt.subplots(figsize=(width, height))


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def marginals(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str], bins: int = 30) -> bytes:
    """Real vs synthetic histograms (numeric) or bar charts (categorical), one panel per column."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    cols = min(3, len(columns))
    rows = -(-len(columns) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        if pd.api.types.is_numeric_dtype(real[column]) and not pd.api.types.is_bool_dtype(real[column]):
            edges = np.histogram_bin_edges(real[column].dropna(), bins=bins)
            ax.hist(
                real[column].dropna(), bins=edges, alpha=0.5, density=True, label="real", color=REAL_COLOUR
            )
            ax.hist(
                synthetic[column].dropna(),
                bins=edges,
                alpha=0.5,
                density=True,
                label="synthetic",
                color=SYNTH_COLOUR,
            )
        else:
            shares = (
                pd.DataFrame(
                    {
                        "real": real[column].astype(str).value_counts(normalize=True),
                        "synthetic": synthetic[column].astype(str).value_counts(normalize=True),
                    }
                )
                .fillna(0)
                .head(12)
            )
            shares.plot.bar(ax=ax, color=[REAL_COLOUR, SYNTH_COLOUR], alpha=0.7, legend=False)
        ax.set_title(str(column), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    return _png(plt, fig)


def correlation_heatmaps(real: pd.DataFrame, synthetic: pd.DataFrame, max_columns: int = 15) -> bytes:
    """Pearson correlations of the numeric columns, real beside synthetic, same colour scale."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    numeric = real.select_dtypes("number").columns[:max_columns]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (name, frame) in zip(axes, (("real", real), ("synthetic", synthetic)), strict=True):
        image = ax.imshow(frame[numeric].corr().to_numpy(), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_title(f"{name} correlations ({len(numeric)} numeric columns)", fontsize=9)
        ax.set_xticks(range(len(numeric)), [str(c)[:12] for c in numeric], rotation=90, fontsize=6)
        ax.set_yticks(range(len(numeric)), [str(c)[:12] for c in numeric], fontsize=6)
    fig.colorbar(image, ax=axes, shrink=0.8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def histogram(values, bins, title: str, xlabel: str) -> bytes:
    plt, fig, ax = _figure(5, 3)
    ax.hist(values, bins=bins, color=SYNTH_COLOUR, edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    return _png(plt, fig)


def histograms(series: dict[str, list[float]], bins, title: str, xlabel: str) -> bytes:
    """Overlaid histograms of a few labelled series on the same bins."""
    plt, fig, ax = _figure(5, 3)
    for label, values in series.items():
        ax.hist(values, bins=bins, alpha=0.6, label=f"{label} ({len(values)})", edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return _png(plt, fig)


def collapse_plot(curve: pd.DataFrame) -> bytes:
    """Fidelity and tail coverage per generation, synthetic-only vs anchored."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, metric in zip(axes, ("fidelity", "tail_coverage"), strict=True):
        for arm, colour in (("synthetic_only", "#d62728"), ("anchored", "#2ca02c")):
            rows = curve[curve["arm"] == arm]
            ax.plot(rows["generation"], rows[metric], marker="o", color=colour, label=arm.replace("_", " "))
        ax.set_xlabel("generation")
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.legend(fontsize=8)
    return _png(plt, fig)
