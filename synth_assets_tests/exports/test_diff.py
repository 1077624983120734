"""make diff: two exports compared by their items, metrics, config and upstream versions."""

import json

import numpy as np
import pandas as pd
import pytest

from synth_assets.exports.diff import ExportNotFoundError, diff_exports, find_export, main
from synth_assets.exports.writers import VERSION_FILE, export_instructions, export_table, items_version
from synth_assets.mix.datasets import AnchoredMix, mix_instructions, mix_tables
from synth_assets.reports.scorecard import Metric, Scorecard


def _table_mix(synthetic: pd.DataFrame, seed: int = 0, generator: str = "SDV gaussian_copula") -> AnchoredMix:
    real = pd.DataFrame({"x": np.arange(100.0, 120.0), "y": ["r"] * 20})
    data, facts = mix_tables(synthetic, real, 0.2, seed)
    return AnchoredMix("tabular", data, facts, provenance={"generator": generator, "passed_checks": ["tstr"]})


def _card(tstr: float) -> Scorecard:
    return Scorecard(
        "tabular",
        "Tabular lane",
        [Metric("utility", "tstr_ratio", tstr, "", ">= 0.9", tstr >= 0.9), Metric("counts", "rows", 40, "")],
    )


@pytest.fixture
def two_exports(tmp_path):
    rows = pd.DataFrame({"x": np.arange(40.0), "y": ["s"] * 40})
    older = _table_mix(rows)
    new = pd.DataFrame({"x": 1000.0 + np.arange(5), "y": ["new"] * 5})
    newer_rows = pd.concat([rows.iloc[5:], new])  # as many rows: the same real rows are drawn
    newer = _table_mix(newer_rows, generator="SDV ctgan")
    a = export_table(
        older, tmp_path / "a", _card(0.95), "how", upstream={"tabular_synth": "aaaa", "real_table": "r1"}
    )
    b = export_table(
        newer, tmp_path / "b", _card(0.91), "how", upstream={"tabular_synth": "bbbb", "real_table": "r1"}
    )
    return a, b, older, newer


def test_the_diff_counts_items_and_names_metric_config_and_upstream_changes(two_exports):
    a, b, older, newer = two_exports
    report = diff_exports(a, b)
    assert report.a["version"] == items_version(older) != report.b["version"] == items_version(newer)
    # 5 synthetic rows gone, 5 new ones (every other row moved up 5 places: position is no content)
    assert (report.added, report.removed) == (5, 5)
    assert report.unchanged == report.n_a - 5 == report.n_b - 5
    assert set(report.examples_added["y"]) == {"new"} and len(report.examples_removed) == 5
    tstr = report.metrics.set_index("metric").loc["tstr_ratio"]
    assert tstr["a"] == 0.95 and tstr["b"] == 0.91 and tstr["delta"] == pytest.approx(-0.04)
    assert "rows" not in set(report.metrics["metric"])  # unchanged metrics are not listed
    config = report.config.set_index("key")
    assert config.loc["provenance.generator", "a"] == "SDV gaussian_copula"
    assert config.loc["provenance.generator", "b"] == "SDV ctgan"
    assert report.upstream.to_dict("records") == [{"asset": "tabular_synth", "a": "aaaa", "b": "bbbb"}]
    text = report.to_markdown()
    assert "5 added, 5 removed" in text and "tstr_ratio" in text and "SDV ctgan" in text


def test_the_same_items_give_the_same_version_and_an_empty_diff(tmp_path, two_exports):
    a, _, older, _ = two_exports
    again = export_table(
        older, tmp_path / "again", _card(0.95), "how", upstream={"tabular_synth": "aaaa", "real_table": "r1"}
    )
    report = diff_exports(a, again)
    assert report.identical and (report.added, report.removed) == (0, 0)
    assert report.metrics.empty and report.config.empty and report.upstream.empty
    assert "Identical content." in report.to_markdown()
    # the card states the version and the upstream versions; manifest.json carries them
    card = (a / "README.md").read_text()
    assert f"Version `{items_version(older)}`" in card and "- `tabular_synth`: `aaaa`" in card
    record = json.loads((a / VERSION_FILE).read_text())
    assert record["upstream"] == {"real_table": "r1", "tabular_synth": "aaaa"} and record["items"] == len(
        older.data
    )


def test_versions_are_found_by_prefix_under_the_root_and_the_cli_prints_the_diff(
    two_exports, tmp_path, capsys
):
    a, b, older, newer = two_exports
    va, vb = items_version(older), items_version(newer)
    assert find_export(va[:8], tmp_path) == a and find_export(str(b), tmp_path) == b
    assert main([va[:8], vb, "--root", str(tmp_path)]) == 0
    assert "5 added, 5 removed" in capsys.readouterr().out
    assert main(["abcdef12", vb, "--root", str(tmp_path)]) == 2
    assert "no export with version 'abcdef12'" in capsys.readouterr().err
    with pytest.raises(ExportNotFoundError, match="neither an export folder nor a version"):
        find_export("latest", tmp_path)


def test_exports_of_different_lanes_are_not_compared(two_exports, tmp_path):
    a, *_ = two_exports
    kept = pd.DataFrame({"id": ["k1"], "instruction": ["Explain x"], "input": [""], "response": ["x is y"]})
    human = pd.DataFrame({"id": ["h1"], "instruction": ["Name a colour"], "input": [""], "output": ["Red"]})
    data, facts = mix_instructions(kept, human, 0.5)
    folder = export_instructions(AnchoredMix("instructions", data, facts), tmp_path / "i", None, "how")
    with pytest.raises(
        ExportNotFoundError, match="cannot compare a tabular export with a instructions export"
    ):
        diff_exports(a, folder)
    with pytest.raises(ExportNotFoundError, match="no manifest.json"):
        diff_exports(a, tmp_path)
