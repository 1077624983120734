"""PNG plots for scorecards (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
import math

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


def _shorten(label: str, limit: int) -> str:
    """Long names keep their head and tail (suffixes often tell columns apart)."""
    if len(label) <= limit:
        return label
    tail = max(3, (limit - 1) // 3)
    return f"{label[: limit - 1 - tail]}…{label[-tail:]}"


def correlation_figure(real: pd.DataFrame, synthetic: pd.DataFrame, max_columns: int = 40):
    """The real and synthetic correlation heatmaps as a matplotlib Figure (Agg canvas attached).

    The figure grows with the number of columns, uses constrained layout and one shared colour
    bar; tick labels are shortened, their font shrinks with the cell size and only every k-th
    tick is labelled when the cells are too small, so nothing overlaps for 1 to ``max_columns``
    columns however long their names are."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    numeric = list(real.select_dtypes("number").columns)
    shown = numeric[:max_columns]
    n = len(shown)
    if n == 0:
        fig = Figure(figsize=(5, 1.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no numeric columns to correlate", ha="center", va="center", fontsize=10)
        return fig

    side = min(max(0.26 * n, 3.0), 10.0)  # inches per heatmap
    spacing = side * 72 / n  # points between neighbouring ticks
    fontsize = min(8.0, max(5.0, 0.75 * spacing))
    step = max(1, math.ceil(1.3 * fontsize / spacing))  # label every step-th column
    labels = [_shorten(str(c), 22) for c in shown]
    ticks = list(range(0, n, step))
    label_inches = max(len(labels[i]) for i in ticks) * fontsize * 0.62 / 72 + 0.15
    width = 2 * side + label_inches + 1.9  # heatmaps, y tick labels, colour bar, padding
    height = side + label_inches + 1.3  # heatmap, rotated x tick labels, titles
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    image = None
    for ax, (name, frame) in zip(axes, (("real", real), ("synthetic", synthetic)), strict=True):
        image = ax.imshow(frame[shown].corr().to_numpy(), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_label(f"heatmap {name}")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=fontsize)
        ax.set_yticks(ticks, [labels[i] for i in ticks] if name == "real" else [], fontsize=fontsize)
    colorbar = fig.colorbar(image, ax=list(axes), shrink=0.8, aspect=30)
    colorbar.ax.set_label("colour bar")
    colorbar.ax.tick_params(labelsize=7)
    subset = f"first {n} of {len(numeric)}" if n < len(numeric) else str(n)
    every = f", one label per {step} columns" if step > 1 else ""
    fig.suptitle(f"Pearson correlations, {subset} numeric columns{every}", fontsize=9)
    return fig


def correlation_heatmaps(real: pd.DataFrame, synthetic: pd.DataFrame, max_columns: int = 40) -> bytes:
    """Pearson correlations of the numeric columns, real beside synthetic, same colour scale (PNG)."""
    fig = correlation_figure(real, synthetic, max_columns)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight", pad_inches=0.1)
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


def group_bars(groups: pd.DataFrame, column: str, outcome: str) -> bytes:
    """One sensitive column: each group's share of rows and its outcome, real vs synthetic."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frame = groups.set_index("group")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), squeeze=False)
    for ax, (prefix, title) in zip(
        axes.flat, [("share", "share of rows"), ("outcome", outcome)], strict=True
    ):
        frame[[f"{prefix}_real", f"{prefix}_synthetic"]].set_axis(["real", "synthetic"], axis=1).plot.bar(
            ax=ax, color=[REAL_COLOUR, SYNTH_COLOUR], alpha=0.8
        )
        ax.set_title(f"{column}: {title}", fontsize=9)
        ax.set_xlabel("")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    return _png(plt, fig)


def share_bars(groups: pd.DataFrame, title: str, expected: str, observed: str, max_groups: int = 40) -> bytes:
    """Each category's expected share beside its observed one (topic balance, class balance);
    ``groups`` has columns group, expected_share and share."""
    frame = groups.set_index("group")[["expected_share", "share"]].head(max_groups)
    frame.index = [_shorten(str(g), 28) for g in frame.index]
    plt, fig, ax = _figure(max(5.0, 0.35 * len(frame) + 2), 3.4)
    frame.set_axis([expected, observed], axis=1).plot.bar(ax=ax, color=[REAL_COLOUR, SYNTH_COLOUR], alpha=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("share")
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    return _png(plt, fig)
