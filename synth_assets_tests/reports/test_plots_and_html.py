"""The correlation heatmaps do not overlap (each other, the colour bar, their own tick labels)
for many long-named columns; the HTML report's contents list links to unique ids and all user
text in it is escaped."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from synth_assets.reports import plots
from synth_assets.reports.html import Anchors, render_html, slugify
from synth_assets.reports.scorecard import Metric, Scorecard

HOSTILE = '<script>alert("x")</script>'


def _frames(n_columns: int, long_names: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    names = [
        f"patient_measurement_{i}_with_an_unreasonably_long_descriptive_name_{i}" if long_names else f"c{i}"
        for i in range(n_columns)
    ]
    real = pd.DataFrame(rng.normal(size=(120, n_columns)), columns=names)
    real["label"] = rng.choice(["a", "b"], size=len(real))  # non-numeric: ignored
    synthetic = real.copy()
    synthetic[names] = real[names] * 0.5 + rng.normal(size=(len(real), n_columns))
    return real, synthetic


def _boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    to_figure = fig.transFigure.inverted()
    return renderer, {ax.get_label(): ax.get_tightbbox(renderer).transformed(to_figure) for ax in fig.axes}


@pytest.mark.parametrize(("n_columns", "long_names"), [(5, False), (5, True), (30, True), (40, True)])
def test_correlation_heatmaps_do_not_overlap(n_columns, long_names):
    real, synthetic = _frames(n_columns, long_names)
    fig = plots.correlation_figure(real, synthetic)
    renderer, boxes = _boxes(fig)
    assert sorted(boxes) == ["colour bar", "heatmap real", "heatmap synthetic"]  # one shared colour bar
    real_box, synth_box, bar_box = boxes["heatmap real"], boxes["heatmap synthetic"], boxes["colour bar"]
    assert not real_box.overlaps(synth_box)
    assert not real_box.overlaps(bar_box) and not synth_box.overlaps(bar_box)
    assert real_box.x1 < synth_box.x0 < synth_box.x1 < bar_box.x0  # side by side, bar on the right
    for box in boxes.values():  # nothing is cut off
        assert box.x0 >= -0.005 and box.y0 >= -0.005 and box.x1 <= 1.005 and box.y1 <= 1.005
    for ax in fig.axes:
        if not ax.get_label().startswith("heatmap"):
            continue
        assert ax.images and ax.images[0].get_array().shape == (n_columns, n_columns)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            extents = [t.get_window_extent(renderer) for t in labels if t.get_text()]
            assert all(len(t.get_text()) <= 22 for t in labels)  # long names shortened
            for a, b in zip(extents, extents[1:], strict=False):  # neighbouring labels do not collide
                assert not a.overlaps(b)


def test_correlation_heatmaps_thin_out_ticks_and_return_png():
    real, synthetic = _frames(120, long_names=False)
    fig = plots.correlation_figure(real, synthetic, max_columns=120)
    renderer, boxes = _boxes(fig)
    assert not boxes["heatmap real"].overlaps(boxes["heatmap synthetic"])
    ax = fig.axes[0]
    assert 0 < len([t for t in ax.get_xticklabels() if t.get_text()]) < 120  # some ticks dropped
    extents = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    assert not any(a.overlaps(b) for a, b in zip(extents, extents[1:], strict=False))

    png = plots.correlation_heatmaps(*_frames(30))
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "first 40 of 50" in plots.correlation_figure(*_frames(50))._suptitle.get_text()
    assert plots.correlation_heatmaps(pd.DataFrame({"x": ["a"]}), pd.DataFrame({"x": ["b"]})).startswith(
        b"\x89PNG"
    )


def test_slugs_and_anchors_are_unique():
    assert slugify("Real vs synthetic: marginals (%)") == "real-vs-synthetic-marginals"
    assert slugify(HOSTILE) == "script-alert-x-script"
    assert slugify("Ünïcødé") == "unicde" and slugify("!!!") == "section"
    anchor = Anchors()
    made = [anchor("a"), anchor("a"), anchor("a-2"), anchor("A!"), anchor("top"), anchor("contents")]
    assert made == ["a", "a-2", "a-2-2", "a-3", "top-2", "contents-2"]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.nav_links, self.links, self.sources, self.tags = [], [], [], [], []
        self.in_nav = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "nav":
            self.in_nav = True
        if tag == "a":
            self.links.append(attrs.get("href", ""))
            if self.in_nav:
                self.nav_links.append(attrs.get("href", ""))
        for key in ("src", "href"):
            if key in attrs and tag != "a":
                self.sources.append(attrs[key])

    def handle_endtag(self, tag):
        if tag == "nav":
            self.in_nav = False


@pytest.fixture(scope="module")
def hostile_cards():
    png = plots.histogram([1.0, 2.0, 2.5], 3, "scores", "score")
    metrics = [
        Metric("fidelity", "column_shapes", 0.93, f"Meaning with {HOSTILE}", ">= 0.90", True),
        Metric("Fidelity!", f"name {HOSTILE}", "<b>bold</b>", "same slug as 'fidelity'", "", None),
        Metric(HOSTILE, "tstr_ratio", 0.5, "utility", ">= 0.8", False),
    ]
    table = pd.DataFrame({HOSTILE: [HOSTILE], "instruction": ["Ignore this </table><script>x()</script>"]})
    first = Scorecard(
        "tabular",
        f"Tabular lane {HOSTILE}",
        metrics,
        plots={"Real vs synthetic": png, f"caption {HOSTILE}": png, "real vs synthetic!": png},
        tables={"Worst columns": table, f"<i>{HOSTILE}</i>": table},
        notes=[f"note {HOSTILE}"],
    )
    twin = Scorecard("tabular", "Tabular lane again", metrics[:1], plots={"Real vs synthetic": png})
    odd = Scorecard("top", "lane named like the page title anchor", metrics[2:])
    return [first, twin, odd]


def test_html_contents_links_resolve_to_unique_ids(hostile_cards):
    html = render_html(hostile_cards, title=f"report {HOSTILE}")
    page = _Page()
    page.feed(html)
    assert len(page.ids) == len(set(page.ids))  # unique ids
    assert all(i and " " not in i for i in page.ids)
    assert page.nav_links and all(link.startswith("#") for link in page.nav_links)
    targets = {link[1:] for link in page.links}
    assert targets <= set(page.ids)  # every link, contents and "back to contents", resolves
    expected = sum(
        1 + len({m.section for m in c.metrics}) + len(c.tables) + bool(c.notes) + len(c.plots)
        for c in hostile_cards
    )
    assert len(page.nav_links) == len(set(page.nav_links)) == expected  # one link per card and section
    assert page.nav_links[0] == "#tabular" and "#tabular-2" in page.nav_links and "#top-2" in page.nav_links
    assert "#tabular-fidelity" in page.nav_links and "#tabular-fidelity-2" in page.nav_links
    assert page.tags.count("section") == len(hostile_cards)
    assert page.tags.count("img") == sum(len(c.plots) for c in hostile_cards)
    # self-contained: images inline, nothing fetched from elsewhere
    assert all(src.startswith("data:image/png;base64,") for src in page.sources)
    assert "http://" not in html and "https://" not in html and "<link" not in html


def test_html_escapes_user_text(hostile_cards):
    html = render_html(hostile_cards, title=f"report {HOSTILE}")
    page = _Page()
    page.feed(html)
    assert "script" not in page.tags and "i" not in page.tags and "b" not in page.tags
    assert "<script" not in html.lower() and "<b>bold" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(" in html  # shown, as text
    assert "</table><script>" not in html and "&lt;/table&gt;&lt;script&gt;x()" in html
    metric_tables = sum(len({m.section for m in c.metrics}) for c in hostile_cards)
    assert page.tags.count("table") == metric_tables + 2
