"""PM4Py reads closedloop's exports, mines them, and replays them on the designed loop.

A standalone check for the optional CI step (pytest does not collect it), run with
PM4Py installed::

    python -m pip install "pm4py>=2.7" && python tests/pm4py_check.py

For a short simulated Yiwu log under each policy it writes OCEL 2.0 JSON, OCEL 2.0
SQLite and XES to a temporary directory, then checks that PM4Py:

1. reads all three, with every event, object and trace closedloop wrote, and finds
   the SQLite form's relational schema satisfies every constraint of OCEL 2.0 (PM4Py's
   ``ocel20_rel_validation``: tables, columns, primary and foreign keys);
2. discovers a Petri net from the XES log with the inductive miner;
3. replays the log on closedloop's designed loop (``designed_loop_pnml``) with
   token-based replay at fitness 1.0: the whole log on the net that lets a case stop
   anywhere, and the closed issues on the net whose cases must end archived or
   withdrawn;
4. replays it below 1.0 once a violation is injected (the evaluations before every
   archive removed), and closedloop's own check names the same issues.

It prints each check and exits with status 1 on the first failure (2 when PM4Py is
not installed).
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")

import attrs

import closedloop as cl
from closedloop import interop

FAILURES: list[str] = []


def check(what: str, passed: bool, detail: str = "") -> None:
    """Print one check's outcome and remember a failure."""
    print(f"[{'ok' if passed else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not passed:
        FAILURES.append(what)


def without_evaluations_before_archives(events: tuple[Any, ...]) -> list[Any]:
    """The log with every evaluation of an issue that was later archived removed."""
    archived = {e.issue_id for e in events if isinstance(e, cl.IssueArchived)}
    return [
        e for e in events if not (isinstance(e, cl.ResolutionEvaluated) and e.issue_id in archived)
    ]


def closed_cases(frame: Any) -> Any:
    """The rows of the traces that end archived or withdrawn."""
    ends = frame.groupby("case:concept:name")["concept:name"].transform("last")
    return frame[ends.isin(["archive", "withdraw"])]


def replay(pm4py: Any, frame: Any, pnml: Path) -> float:
    net, initial, final = pm4py.read_pnml(str(pnml))
    result = pm4py.fitness_token_based_replay(frame, net, initial, final)
    return float(result["log_fitness"])


def check_policy(pm4py: Any, policy: cl.Baseline | cl.DownwardMeetings, folder: Path) -> None:
    scenario = attrs.evolve(cl.yiwu_scenario(villages_per_town=4), end=date(2019, 7, 31))
    result = cl.simulate(scenario, policy, keep_events=True)
    events = result.events
    assert events is not None
    name = policy.name
    print(f"-- {name}: {len(events)} events, {result.arrived} issues")
    options: dict[str, Any] = {"hierarchy": scenario.hierarchy, "departments": scenario.departments}
    document = interop.to_ocel_json(events, **options)

    json_path = folder / f"{name}.jsonocel"
    sqlite_path = folder / f"{name}.sqlite"
    xes_path = folder / f"{name}.xes"
    interop.write_ocel_json(json_path, events, **options)
    interop.write_ocel_sqlite(sqlite_path, events, **options)
    interop.write_xes(xes_path, events)

    from pm4py.objects.ocel.validation import ocel20_rel_validation

    satisfied, unsatisfied = ocel20_rel_validation.apply(str(sqlite_path))
    check(
        f"{name}: the SQLite export satisfies OCEL 2.0's relational constraints",
        not unsatisfied and len(satisfied) > 0,
        f"{len(satisfied)} satisfied"
        + (f"; unsatisfied: {sorted(unsatisfied)}" if unsatisfied else ""),
    )

    for reader, path in (
        (pm4py.read_ocel2_json, json_path),
        (pm4py.read_ocel2_sqlite, sqlite_path),
    ):
        ocel = reader(str(path))
        check(
            f"{name}: pm4py.{reader.__name__} reads every event and object",
            len(ocel.events) == len(document["events"])
            and len(ocel.objects) == len(document["objects"]),
            f"{len(ocel.events)} events, {len(ocel.objects)} objects",
        )
        flat = pm4py.ocel_flattening(ocel, "issue")
        check(
            f"{name}: flattening {path.suffix} on issues gives one case per issue",
            flat["case:concept:name"].nunique() == result.arrived,
        )

    log = pm4py.read_xes(str(xes_path))
    traces = interop.read_xes(xes_path)
    check(
        f"{name}: pm4py.read_xes reads every trace and event",
        log["case:concept:name"].nunique() == len(traces)
        and len(log) == sum(len(t.events) for t in traces),
        f"{len(traces)} traces, {len(log)} events",
    )

    net, _initial, _final = pm4py.discover_petri_net_inductive(log)
    check(
        f"{name}: the inductive miner discovers a net",
        len(net.transitions) > 0 and len(net.places) > 0,
        f"{len(net.places)} places, {len(net.transitions)} transitions",
    )

    partial = folder / "loop-partial.pnml"
    complete = folder / "loop.pnml"
    partial.write_text(interop.designed_loop_pnml(partial=True), encoding="utf-8")
    complete.write_text(interop.designed_loop_pnml(), encoding="utf-8")
    fitness = replay(pm4py, log, partial)
    check(f"{name}: the whole log fits the designed loop", fitness == 1.0, f"fitness {fitness}")
    closed = closed_cases(log)
    fitness = replay(pm4py, closed, complete)
    check(
        f"{name}: the closed issues fit the designed loop to the end",
        fitness == 1.0,
        f"fitness {fitness} over {closed['case:concept:name'].nunique()} issues",
    )

    damaged = without_evaluations_before_archives(events)
    damaged_path = folder / f"{name}-damaged.xes"
    interop.write_xes(damaged_path, damaged)
    damaged_log = pm4py.read_xes(str(damaged_path))
    fitness = replay(pm4py, damaged_log, partial)
    check(
        f"{name}: without evaluations before archives the fitness drops",
        fitness < 1.0,
        f"fitness {fitness}",
    )
    traces_log = pm4py.convert_to_event_log(damaged_log)
    diagnostics = pm4py.conformance_diagnostics_token_based_replay(
        traces_log, *pm4py.read_pnml(str(partial))
    )
    unfit = sorted(
        trace.attributes["concept:name"]
        for trace, diagnosis in zip(traces_log, diagnostics, strict=True)
        if not diagnosis["trace_is_fit"]
    )
    report = interop.check_conformance(damaged, policy_max_reopens=None)
    found = report.issue_ids(interop.ViolationKind.ARCHIVED_WITHOUT_EVALUATION)
    check(
        f"{name}: pm4py and closedloop's own check name the same issues",
        list(found) == unfit and len(unfit) > 0,
        f"{len(unfit)} issues",
    )


def main() -> int:
    try:
        import pm4py
    except ImportError:
        print("pm4py is not installed: python -m pip install 'pm4py>=2.7'", file=sys.stderr)
        return 2
    print(f"pm4py {pm4py.__version__}")
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        for policy in cl.yiwu_policies():
            try:
                check_policy(pm4py, policy, Path(folder))
            except Exception as exc:  # report and go on: every failure is listed
                check(
                    f"{policy.name}: the checks ran to their end",
                    False,
                    f"{type(exc).__name__}: {exc}",
                )
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
