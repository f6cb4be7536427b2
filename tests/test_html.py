"""Rich display in notebooks: metrics tables, comparisons, sweeps and results as HTML."""

from __future__ import annotations

import random
import re
from datetime import date
from html.parser import HTMLParser

import attrs

import closedloop as cl
from closedloop import _html
from closedloop.simulation import SweepResult, compare, simulate, yiwu_scenario
from tests import world
from tests.logs import random_log


class _Cells(HTMLParser):
    """Collects the caption, the headers and the rows of one or more tables."""

    def __init__(self) -> None:
        super().__init__()
        self.captions: list[str] = []
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._in: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in ("caption", "th", "td"):
            self._in, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        if tag == "caption":
            self.captions.append(self._text)
        elif tag == "th":
            self.headers.append(self._text)
        else:
            self.rows[-1].append(self._text)
        self._in = None


def parse(page: str) -> _Cells:
    cells = _Cells()
    cells.feed(page)
    cells.close()
    return cells


def test_values_are_escaped_and_long_tables_are_cut_with_a_note() -> None:
    columns: dict[str, list[object]] = {
        "unit": [f"<b>u{i}</b>" for i in range(45)],
        "rate": [i / 7 for i in range(45)],
    }
    page = _html.table(columns, caption="a & b")
    assert "<b>" not in page
    cells = parse(page)
    assert cells.captions == ["a & b"]
    assert cells.headers == ["unit", "rate"]
    data = [row for row in cells.rows if row]
    assert len(data) == _html.MAX_ROWS + 1
    assert data[0] == ["<b>u0</b>", "0"]
    assert data[1] == ["<b>u1</b>", "0.1429"]
    assert data[-1] == ["… 15 more rows"]


def test_cells_show_missing_values_booleans_and_instants_plainly() -> None:
    assert _html.cell(None) == "–"
    assert _html.cell(True) == "yes"
    assert _html.cell(12345) == "12,345"
    assert _html.cell(float("nan")) == "nan"
    assert _html.cell(date(2024, 2, 4)) == "2024-02-04"
    assert _html.cell(world.START) == world.START.isoformat(sep=" ", timespec="minutes")
    assert _html.cell(cl.Period.MONTH) == "month"


def test_metrics_show_the_total_then_one_row_per_group_and_period() -> None:
    log = random_log(random.Random(3), issues=15, steps=120)
    projection = cl.MetricsProjection()
    projection.apply_all(log.events)
    metrics = projection.metrics(calendar=world.CALENDAR, by="unit", period="month")
    cells = parse(metrics._repr_html_())
    assert cells.captions[0].startswith("All issues as of ")
    assert cells.captions[1] == f"Issue metrics by unit, month: {len(metrics.issues.rows)} rows"
    table = [row for row in cells.rows if row][1:]  # after the total's row
    assert len(table) == len(metrics.issues.rows)
    first = metrics.issues.rows[0]
    assert table[0][:3] == [first.key[0], str(first.period), f"{first.registered:,}"]
    registered = sum(row.registered for row in metrics.issues.rows)
    assert next(row for row in cells.rows if row)[0] == f"{registered:,}"
    assert "Backlog by unit, month" in metrics.backlog._repr_html_()
    assert "Activity by unit, month" in metrics.activity._repr_html_()


def test_a_comparison_shows_every_figure_and_the_differences() -> None:
    results = [
        {"policy": policy, "meetings": meetings, "problems_solved": solved}
        for policy, meetings, solved in [
            ("baseline", 0, 90),
            ("baseline", 0, 110),
            ("downward_meetings", 40, 150),
            ("downward_meetings", 44, 170),
        ]
    ]
    comparison = compare(results, figures=("meetings", "problems_solved"))
    cells = parse(comparison._repr_html_())
    assert cells.headers == [
        "figure",
        "baseline",
        "downward_meetings",
        "downward_meetings - baseline",
    ]
    rows = [row for row in cells.rows if row]
    assert [row[0] for row in rows] == ["meetings", "problems_solved"]
    assert rows[1][1] == str(comparison.estimates["baseline"]["problems_solved"])


def test_a_sweep_and_a_result_show_their_rows() -> None:
    scenario = yiwu_scenario(villages_per_town=2).with_changes(end=date(2019, 6, 30))
    result = simulate(scenario, cl.simulation.DownwardMeetings(), seed=1)
    summary = result.summary()
    cells = parse(result._repr_html_())
    assert [row[0] for row in cells.rows if row] == list(summary)
    sweep = SweepResult(
        grid=({"policy": "baseline"},),
        seeds=(1, 2),
        rows=(
            {"param_policy": "baseline", "seed": 1, "meetings": 0},
            {"param_policy": "baseline", "seed": 2, "meetings": 0},
        ),
    )
    cells = parse(sweep._repr_html_())
    assert cells.captions == ["Sweep: 1 grid point × 2 seeds, 2 rows"]
    assert cells.headers == ["param_policy", "seed", "meetings"]
    assert re.fullmatch(r"\d+", [row for row in cells.rows if row][1][1])
    assert attrs.evolve(sweep, rows=())._repr_html_().count("<tr>") == 1
