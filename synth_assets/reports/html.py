"""One self-contained HTML report (plots inlined as base64 PNG, no external assets)."""

from __future__ import annotations

import base64
import datetime as dt
import re
import unicodedata

from jinja2 import Environment

from synth_assets.reports.scorecard import Scorecard, format_value

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: 0; } .when { color: #666; margin-top: .2rem; }
table { border-collapse: collapse; margin: .6rem 0 1.4rem; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #176f2c; font-weight: 600; } .FAIL { color: #b00020; font-weight: 700; } .info { color: #666; }
.verdict { display: inline-block; padding: .1rem .6rem; border-radius: .3rem; color: #fff; }
.verdict.pass { background: #176f2c; color: #fff; } .verdict.FAIL { background: #b00020; color: #fff; }
figure { margin: 1rem 0; } figcaption { font-weight: 600; margin-bottom: .3rem; } img { max-width: 100%; }
section.lane { border-top: 2px solid #ccc; margin-top: 2rem; }
nav.contents { background: #fafafa; border: 1px solid #ddd; padding: .4rem 1.2rem; margin: 1rem 0; }
nav.contents ol { margin: .2rem 0; } nav.contents ol ol { font-size: .9rem; }
nav.contents .verdict { font-size: .75rem; } a.top { font-size: .8rem; font-weight: normal; margin-left: .6rem; }
</style></head><body>
<h1 id="top">{{ title }}</h1><p class="when">Generated {{ generated }}</p>
<nav class="contents" id="contents" aria-label="Contents"><h2>Contents</h2><ol>
{% for card in cards %}<li><a href="#{{ card.id }}">{{ card.title }}</a> <span class="verdict {{ 'pass' if card.passed else 'FAIL' }}">{{ 'PASS' if card.passed else 'FAIL' }}</span>
{% if card.entries %}<ol>{% for kind, label, anchor in card.entries %}<li>{{ kind }}: <a href="#{{ anchor }}">{{ label }}</a></li>{% endfor %}</ol>{% endif %}</li>
{% endfor %}</ol></nav>
{% for card in cards %}
<section class="lane" id="{{ card.id }}">
<h2>{{ card.title }} <span class="verdict {{ 'pass' if card.passed else 'FAIL' }}">{{ 'PASS' if card.passed else 'FAIL' }}</span><a class="top" href="#contents">contents</a></h2>
{% for section, anchor, metrics in card.sections %}
<h3 id="{{ anchor }}">{{ section }}</h3>
<table><thead><tr><th>metric</th><th>value</th><th>threshold</th><th>status</th><th>what this means</th></tr></thead><tbody>
{% for m in metrics %}<tr><td>{{ m.name }}</td><td class="num">{{ m.shown }}</td><td class="num">{{ m.threshold }}</td>
<td class="{{ m.status }}">{{ m.status }}</td><td>{{ m.meaning }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}
{% for caption, anchor, html in card.tables %}<h3 id="{{ anchor }}">{{ caption }}</h3>{{ html | safe }}{% endfor %}
{% if card.notes %}<h3 id="{{ card.notes_id }}">notes</h3><ul>{% for note in card.notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
{% for caption, anchor, data in card.plots %}<figure id="{{ anchor }}"><figcaption>{{ caption }}</figcaption>
<img alt="{{ caption }}" src="data:image/png;base64,{{ data }}"></figure>{% endfor %}
</section>
{% endfor %}
</body></html>
"""


def slugify(text: str, fallback: str = "section") -> str:
    """Lower-case ASCII letters, digits and single hyphens; ``fallback`` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or fallback


class Anchors:
    """Unique ``id`` values for one HTML page: a slug, then ``-2``, ``-3``, ... on a clash."""

    def __init__(self, reserved=("top", "contents")):
        self.used: set[str] = set(reserved)

    def __call__(self, *parts: str) -> str:
        base = "-".join(slugify(p) for p in parts)
        anchor, k = base, 1
        while anchor in self.used:
            k += 1
            anchor = f"{base}-{k}"
        self.used.add(anchor)
        return anchor


def render_html(cards: list[Scorecard], title: str = "synth_assets validation report") -> str:
    """All scorecards in one page with a linked contents list; every piece of user text is escaped
    (autoescaping for the template, ``escape=True`` for the tables' HTML)."""
    env = Environment(autoescape=True)
    anchor = Anchors()
    view = []
    for card in cards:
        card_id = anchor(card.lane or card.title)
        sections: dict[str, list[dict]] = {}
        for m in card.metrics:
            sections.setdefault(m.section, []).append(
                {
                    "name": m.name,
                    "shown": format_value(m.value),
                    "threshold": m.threshold,
                    "status": m.status,
                    "meaning": m.meaning,
                }
            )
        metric_groups = [(str(name), anchor(card_id, name), rows) for name, rows in sections.items()]
        tables = [
            (str(c), anchor(card_id, "table", c), f.to_html(index=False, border=0, escape=True))
            for c, f in card.tables.items()
        ]
        notes_id = anchor(card_id, "notes") if card.notes else ""
        figures = [
            (str(c), anchor(card_id, "figure", c), base64.b64encode(png).decode("ascii"))
            for c, png in card.plots.items()
        ]
        entries = (
            [("metrics", name, a) for name, a, _ in metric_groups]
            + [("table", c, a) for c, a, _ in tables]
            + (
                [("notes", f"{len(card.notes)} note{'s' * (len(card.notes) != 1)}", notes_id)]
                if card.notes
                else []
            )
            + [("figure", c, a) for c, a, _ in figures]
        )
        view.append(
            {
                "id": card_id,
                "title": card.title,
                "passed": card.passed,
                "sections": metric_groups,
                "tables": tables,
                "notes": card.notes,
                "notes_id": notes_id,
                "plots": figures,
                "entries": entries,
            }
        )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.from_string(TEMPLATE).render(title=title, generated=generated, cards=view)
