"""The command line: user errors end as ``closedloop: error: ...`` (status 2), the sweep
grid syntax, and the period ``--start`` and ``--months`` describe."""

from __future__ import annotations

import csv
import importlib.metadata
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import closedloop.cli as cli
from closedloop import __version__ as cl_version
from closedloop.cli import build_parser, main
from closedloop.errors import ConfigurationError


def test_the_closedloop_command_is_the_command_line() -> None:
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="closedloop")
    assert script.load() is main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert status == 0
    assert out.strip() == f"closedloop {cl_version}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The status, stdout and stderr of one command."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_user_error(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    """``argv`` fails as a user error, naming ``words``; returns the error line."""
    status, _, err = run(capsys, *argv)
    assert status == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("closedloop: error: "), err
    for word in words:
        assert word in last, (word, last)
    return last


# -- the sweep grid -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "values"),
    [
        ("policy=baseline,downward_meetings", ["baseline", "downward_meetings"]),
        ("supervision=0,0.5,0.8", [0, 0.5, 0.8]),
        ("deadlines=(1,3,15)", [(1, 3, 15)]),
        ("deadlines=(1,3,15),(1,5,30)", [(1, 3, 15), (1, 5, 30)]),
        ("deadlines=(1, 3, 15), (1, 5, 30)", [(1, 3, 15), (1, 5, 30)]),
        ("deadlines=(1,3,15);(1,5,30)", [(1, 3, 15), (1, 5, 30)]),  # the older separator
        ("policy=baseline;downward_meetings", ["baseline", "downward_meetings"]),
        ("task_force_threshold=None,3", [None, 3]),
        ("town_weekday='Sat',Sun", ["Sat", "Sun"]),
        ("town_weekday='a,b'", ["a,b"]),
        ("x=[1,2],{'a':(1,2)}", [[1, 2], {"a": (1, 2)}]),
    ],
)
def test_grid_values_split_at_top_level_commas(entry: str, values: list[Any]) -> None:
    name = entry.partition("=")[0]
    assert cli._parse_grid([entry]) == {name: values}


def test_a_grid_of_several_entries_keeps_their_order() -> None:
    grid = cli._parse_grid(["policy=baseline", "supervision=0,1", "deadlines=(1,3,15)"])
    assert grid == {"policy": ["baseline"], "supervision": [0, 1], "deadlines": [(1, 3, 15)]}
    assert list(grid) == ["policy", "supervision", "deadlines"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("noequals", "name=v1,v2"),
        ("=1,2", "name=v1,v2"),
        ("supervision=", "name=v1,v2"),
        ("supervision=0,,1", "empty value"),
        ("supervision=0,", "empty value"),
        ("deadlines=(1,3", "')' missing"),
        ("deadlines=(1,3))", "unmatched ')'"),
        ("deadlines=(1,3]", "unmatched ']'"),
        ("deadlines=(1,a,3)", "cannot read '(1,a,3)'"),
        ("town_weekday='Sat", "unclosed quote"),
    ],
)
def test_malformed_grid_entries_are_refused(entry: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cli._parse_grid([entry])


def test_a_repeated_grid_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        cli._parse_grid(["supervision=0", "supervision=1"])


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["supervision=high"], ["supervision"]),
        (["capacity=abc"], ["capacity"]),
        (["deadlines=(1,3);(1,5)"], ["deadlines"]),
        (["deadlines=(1,3"], ["deadlines", "missing"]),
        (["bogus=1"], ["bogus"]),
        (["policy=nope"], ["policy"]),
        (["supervision=0,,1"], ["empty value"]),
        (["--workers", "0"], ["--workers", "at least 1"]),
        (["--workers", "many"], ["--workers", "whole number"]),
        (["--seeds", "0"], ["--seeds", "at least 1"]),
    ],
)
def test_sweep_user_errors(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    words: list[str],
) -> None:
    """Refused before anything runs: no job is submitted."""

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a sweep job was submitted")

    monkeypatch.setattr("concurrent.futures.ThreadPoolExecutor.submit", must_not_run)
    assert_user_error(capsys, ["sweep", *argv, "--threads"], *words)


def test_sweep_runs_a_grid_of_tuples(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``deadlines=(1,3,15)`` is one value and reaches the builder whole (the runs are
    cut to two weeks to keep the test short)."""
    import attrs

    from closedloop import simulation

    seen: list[dict[str, Any]] = []
    real = simulation.run_sweep

    def two_weeks(point: Mapping[str, Any]) -> Any:
        # Each point is built once to check it, then once per run.
        if dict(point) not in seen:
            seen.append(dict(point))
        scenario, policy = simulation.yiwu_variant(point)
        return attrs.evolve(scenario, end=date(2019, 6, 14)), policy

    def short_sweep(grid: Any, **options: Any) -> Any:
        return real(grid, **options, builder=two_weeks)

    monkeypatch.setattr(simulation, "run_sweep", short_sweep)
    out_csv = tmp_path / "rows.csv"
    status, out, err = run(
        capsys,
        "sweep",
        "deadlines=(1,3,15),(1,5,30)",
        "--seeds",
        "1",
        "--threads",
        "--workers",
        "1",
        "--csv",
        str(out_csv),
    )
    assert status == 0, err
    assert seen == [{"deadlines": (1, 3, 15)}, {"deadlines": (1, 5, 30)}]
    assert "deadlines=(1, 5, 30)" in out
    assert f"rows written to {out_csv}" in out
    with out_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["param_deadlines"] for row in rows] == ["(1, 3, 15)", "(1, 5, 30)"]


def test_the_sweep_help_explains_the_grid(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "sweep", "--help")
    assert status == 0
    assert "parentheses group a tuple" in out
    assert "'deadlines=(1,3,15),(1,5,30)'" in out


# -- dates, months and other options --------------------------------------------------------


def scenario_for(*argv: str) -> tuple[date, date]:
    """The first and last day ``simulate`` would run for ``argv``."""
    args = build_parser().parse_args(["simulate", *argv])
    scenario, _ = cli._scenario_and_policies(args)
    return scenario.start, scenario.end


def test_the_default_run_is_fifteen_months_from_june_2019() -> None:
    assert scenario_for() == (date(2019, 6, 1), date(2020, 8, 31))
    assert scenario_for("--months", "15") == scenario_for()


def test_months_are_whole_months_from_the_start() -> None:
    assert scenario_for("--months", "1") == (date(2019, 6, 1), date(2019, 6, 30))
    assert scenario_for("--start", "2019-06-20", "--months", "1") == (
        date(2019, 6, 20),
        date(2019, 7, 19),
    )
    # --start alone: the default of 15 months from it
    assert scenario_for("--start", "2021-01-01") == (date(2021, 1, 1), date(2022, 3, 31))
    assert scenario_for("--start", "2019-06-20") == (date(2019, 6, 20), date(2020, 9, 19))


@pytest.mark.parametrize(
    ("start", "months", "after"),
    [
        (date(2019, 6, 20), 1, date(2019, 7, 20)),
        (date(2019, 12, 15), 1, date(2020, 1, 15)),
        (date(2019, 1, 28), 1, date(2019, 2, 28)),
        (date(2019, 1, 31), 1, date(2019, 3, 1)),  # no 31 February: through its end
        (date(2020, 1, 30), 1, date(2020, 3, 1)),
        (date(2020, 2, 29), 12, date(2021, 3, 1)),
        (date(2019, 6, 1), 15, date(2020, 9, 1)),
    ],
)
def test_adding_months(start: date, months: int, after: date) -> None:
    assert cli._add_months(start, months) == after


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["simulate", "--months", "0"], ["--months", "at least 1"]),
        (["simulate", "--months", "-2"], ["--months", "at least 1"]),
        (["compare", "--months", "x"], ["--months", "whole number"]),
        (["simulate", "--start", "2019-13-01"], ["--start", "2019-13-01"]),
        (["simulate", "--months", "100000"], ["9999"]),
        (["simulate", "--start", "2040-01-01", "--months", "1"], ["2040"]),
        (["simulate", "--scenario", "mars"], ["mars"]),
        (["compare", "--seeds", "0"], ["--seeds"]),
        (["deadlines", "--date", "notadate"], ["--date", "notadate"]),
        (["deadlines", "--days", "0"], ["--days"]),
        (["deadlines", "--date", "1990-01-01"], ["1990"]),
        (["nonsense"], ["invalid choice"]),
    ],
)
def test_user_errors_end_in_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    assert_user_error(capsys, argv, *words)


def test_the_help_says_what_months_mean(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "simulate", "--help")
    assert status == 0
    assert "whole months" in " ".join(out.split())


def test_deadlines_take_an_iso_date(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "deadlines", "--date", "2025-09-30", "--days", "1")
    assert status == 0
    assert "assigned Tue 2025-09-30" in out


def test_deadlines_past_the_calendar_point_to_the_provisional_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = assert_user_error(capsys, ["deadlines", "--date", "2026-12-21"], "2027", "--provisional")
    assert "unannounced=" not in line
    status, out, _ = run(capsys, "deadlines", "--date", "2026-12-21", "--provisional")
    assert status == 0
    assert "[provisional]" in out


def test_an_unwritable_csv_is_a_user_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from closedloop import simulation

    result = simulation.SweepResult(({},), (0,), ({"seed": 0, "policy": "baseline"},))
    monkeypatch.setattr(simulation, "run_sweep", lambda grid, **options: result)
    monkeypatch.setattr(simulation.SweepResult, "compare", lambda self: _Table())
    missing = tmp_path / "no" / "such" / "rows.csv"
    assert_user_error(capsys, ["sweep", "--threads", "--csv", str(missing)], "rows.csv")


def test_simulate_writes_its_event_log_to_sqlite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from closedloop.store import SQLiteEventStore

    target = tmp_path / "log.db"
    argv = ["simulate", "--policy", "downward_meetings", "--months", "1", "--sqlite", str(target)]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert f"event log written to {target}" in out
    with SQLiteEventStore(str(target)) as store:
        kinds = {type(recorded.event).__name__ for recorded in store.read_all()}
    assert {"IssueRegistered", "IssueAssigned", "MeetingHeld"} <= kinds


@pytest.mark.parametrize("policy", ["downward_meetings", "both"])
def test_simulate_refuses_to_write_its_log_into_an_existing_file(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    policy: str,
) -> None:
    """Refused before anything runs, and the existing file is left as it was."""
    from closedloop import simulation

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the simulation ran")

    monkeypatch.setattr(simulation.Simulation, "run", must_not_run)
    target = tmp_path / "log.db"
    existing = target if policy != "both" else tmp_path / "log-baseline.db"
    existing.write_bytes(b"kept")
    argv = ["simulate", "--policy", policy, "--months", "1", "--sqlite", str(target)]
    assert_user_error(capsys, argv, existing.name, "exists")
    assert existing.read_bytes() == b"kept"


class _Table:
    def table(self) -> str:
        return "a table"


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only user errors are turned into messages."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "china_calendar", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["deadlines"])
