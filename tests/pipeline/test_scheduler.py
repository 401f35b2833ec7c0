"""The long-running schedule: tenants of one interval spread evenly at fixed phases."""

from __future__ import annotations

from agent.scheduler import _phases


def test_tenants_of_one_interval_are_spread_evenly_in_name_order() -> None:
    phases = _phases({"c": 60.0, "a": 60.0, "b": 60.0, "d": 60.0})
    assert phases == {"a": 0.0, "b": 15.0, "c": 30.0, "d": 45.0}


def test_each_interval_is_spread_on_its_own() -> None:
    phases = _phases({"fast": 10.0, "slow-1": 300.0, "slow-2": 300.0})
    assert phases == {"fast": 0.0, "slow-1": 0.0, "slow-2": 150.0}


def test_a_thousand_tenants_start_about_seventeen_a_second_on_60_s() -> None:
    phases = _phases({f"tenant-{index:04d}": 60.0 for index in range(1000)})
    per_second: dict[int, int] = {}
    for phase in phases.values():
        per_second[int(phase)] = per_second.get(int(phase), 0) + 1
    assert max(phases.values()) < 60.0
    assert set(per_second) == set(range(60))
    assert max(per_second.values()) <= 17
