from synth_assets.tabular.inbox import scan_inbox


def _drop(folder, name, frame, spec: str | None):
    frame.to_csv(folder / f"{name}.csv", index=False)
    if spec is not None:
        (folder / f"{name}.yaml").write_text(spec)


def test_good_and_bad_files_are_sorted_and_left_in_place(tmp_path, mixed_table):
    _drop(tmp_path, "people", mixed_table, "target: label\nsynthesizer: tvae\n")
    _drop(tmp_path, "no_spec", mixed_table, None)
    _drop(tmp_path, "wrong_target", mixed_table, "target: nope\n")
    _drop(tmp_path, "typo", mixed_table, "target: label\nsynthesiser: ctgan\n")
    (tmp_path / "orphan.yaml").write_text("target: y\n")
    (tmp_path / "broken.yaml").write_text("target: [unclosed\n")
    (tmp_path / "broken.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("hello")
    before = sorted(p.name for p in tmp_path.iterdir())
    ready, problems = scan_inbox(tmp_path)
    assert [d.name for d in ready] == ["people"] and ready[0].spec["synthesizer"] == "tvae"
    reasons = dict(problems)
    assert "no no_spec.yaml" in reasons["no_spec.csv"]
    assert (
        "target column 'nope' not found" in reasons["wrong_target.csv"]
        or "nope" in reasons["wrong_target.csv"]
    )
    assert "unknown key(s) ['synthesiser']" in reasons["typo.csv"]
    assert "no orphan.csv or orphan.parquet" in reasons["orphan.yaml"]
    assert "not readable YAML" in reasons["broken.csv"]
    assert "not a .csv, .parquet or .yaml" in reasons["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing moved, nothing written


def test_a_changed_file_is_a_new_request(tmp_path, mixed_table):
    _drop(tmp_path, "people", mixed_table, "target: label\n")
    first = scan_inbox(tmp_path)[0][0].fingerprint
    assert scan_inbox(tmp_path)[0][0].fingerprint == first
    _drop(tmp_path, "people", mixed_table.iloc[:-1], "target: label\n")
    assert scan_inbox(tmp_path)[0][0].fingerprint != first


def test_missing_inbox_is_reported(tmp_path):
    assert scan_inbox(tmp_path / "nope") == ([], [(str(tmp_path / "nope"), "inbox folder does not exist")])
