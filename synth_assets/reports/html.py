"""One self-contained HTML report (plots inlined as base64 PNG, no external assets)."""

from __future__ import annotations

import base64
import datetime as dt

from jinja2 import Environment, select_autoescape

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
</style></head><body>
<h1>{{ title }}</h1><p class="when">Generated {{ generated }}</p>
{% for card in cards %}
<section class="lane" id="{{ card.lane }}">
<h2>{{ card.title }} <span class="verdict {{ 'pass' if card.passed else 'FAIL' }}">{{ 'PASS' if card.passed else 'FAIL' }}</span></h2>
{% for section, metrics in card.sections %}
<h3>{{ section }}</h3>
<table><thead><tr><th>metric</th><th>value</th><th>threshold</th><th>status</th><th>what this means</th></tr></thead><tbody>
{% for m in metrics %}<tr><td>{{ m.name }}</td><td class="num">{{ m.shown }}</td><td class="num">{{ m.threshold }}</td>
<td class="{{ m.status }}">{{ m.status }}</td><td>{{ m.meaning }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}
{% for caption, html in card.tables %}<h3>{{ caption }}</h3>{{ html | safe }}{% endfor %}
{% if card.notes %}<ul>{% for note in card.notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
{% for caption, data in card.plots %}<figure><figcaption>{{ caption }}</figcaption>
<img alt="{{ caption }}" src="data:image/png;base64,{{ data }}"></figure>{% endfor %}
</section>
{% endfor %}
</body></html>
"""


def render_html(cards: list[Scorecard], title: str = "synth_assets validation report") -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    view = []
    for card in cards:
        sections = {}
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
        view.append(
            {
                "lane": card.lane,
                "title": card.title,
                "passed": card.passed,
                "sections": list(sections.items()),
                "tables": [(c, f.to_html(index=False, border=0)) for c, f in card.tables.items()],
                "notes": card.notes,
                "plots": [(c, base64.b64encode(png).decode("ascii")) for c, png in card.plots.items()],
            }
        )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.from_string(TEMPLATE).render(title=title, generated=generated, cards=view)
