"""What the gates and the scorecards read back from the instance: the latest verdict of each
check on the latest materialization, and why there is none (absent, errored, stale)."""

from dagster import AssetCheckKey, AssetKey, DagsterInstance, asset, asset_check, materialize

from synth_assets.defs.check_results import check_result, latest_check_records
from synth_assets.verdicts import Verdict


@asset
def thing() -> int:
    return 1


@asset_check(asset=thing, blocking=True)
def measured(thing: int):
    return check_result(Verdict("measured", True, "size", 1.0, ">= 1", "size 1.000 >= 1"))


@asset_check(asset=thing)
def crashes(thing: int):
    raise RuntimeError("the check itself broke")


KEYS = [AssetCheckKey(AssetKey("thing"), name) for name in ("measured", "crashes", "never_defined")]


def test_passed_errored_absent_then_stale():
    instance = DagsterInstance.ephemeral()
    result = materialize([thing, measured, crashes], instance=instance, raise_on_error=False)
    records = latest_check_records(instance, KEYS)
    assert records["measured"].state == "passed" and records["measured"].verdict.summary == "size 1.000 >= 1"
    assert records["measured"].run_id == result.run_id
    assert records["crashes"].state == "errored" and result.run_id in records["crashes"].verdict.summary
    assert records["never_defined"].state == "absent" and not records["never_defined"].passed

    materialize([thing], instance=instance)  # a newer materialization that no check has seen
    records = latest_check_records(instance, KEYS)
    assert records["measured"].state == "stale" and not records["measured"].passed
    assert "older materialization" in records["measured"].verdict.summary
