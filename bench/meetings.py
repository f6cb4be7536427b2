"""Benchmark: the attendee planner on 200 agenda issues and 60 candidate departments.

Run: ``python bench/meetings.py`` (``--seed N`` for another instance, ``--reps N``).

Generated instances, all seeded:

* ``catalogue``: the shape the responsibility matrix produces. 36 bureaus, each the
  only department of its function, and 24 outside bodies in 6 functions of 4
  interchangeable departments (banks, utilities). Each issue is led by a bureau and
  has one to three co-handling functions; categories are drawn with skewed
  popularity, as real case loads are.
* ``random-60`` and ``random-40``: each issue has one to four seats, each filled by
  any of three to six departments drawn at random from 60 (or 40): no structure, the
  hard case for set cover.

Runs: ``auto`` (exact when at most 40 departments are in play, greedy beyond);
``exact`` on 60 with a large node budget, once, as the reference optimum; ``greedy``
beside ``auto`` on 40; and ``max k``, a size limit three below the optimum. The table
reports the wall time (median of the repetitions), the departments chosen, the proven
lower bound, whether the answer is proven optimal, the factor ``H(d)`` the greedy
answer is guaranteed within, the issues covered and the search nodes.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import best_of, environment, print_table

from closedloop.meetings import AgendaNeed, AttendeePlan, plan_attendees

DEPARTMENTS = 60
ISSUES = 200
REFERENCE_NODES = 5_000_000


def _skewed(rng: random.Random, count: int) -> int:
    """An index in ``range(count)``, small ones far more often (popular categories)."""
    return min(int(rng.paretovariate(1.2)) - 1, count - 1)


def catalogue_instance(seed: int) -> list[AgendaNeed]:
    """Issues shaped like routed ones: a lead bureau and co-handling functions."""
    rng = random.Random(seed)
    bureaus = [f"bureau{j:02d}" for j in range(36)]
    bodies = [[f"body{f}-{j}" for j in range(4)] for f in range(6)]
    functions: list[list[str]] = [[b] for b in bureaus] + bodies
    rng.shuffle(functions)
    needs = []
    for i in range(ISSUES):
        lead = bureaus[_skewed(rng, len(bureaus))]
        others: list[str | list[str]] = []
        while len(others) < rng.randint(1, 3):
            f = functions[_skewed(rng, len(functions))]
            if lead not in f and f not in others:
                others.append(f)
        needs.append(AgendaNeed.of(f"i{i:03d}", [lead, *others]))
    return needs


def random_instance(seed: int, departments: int = DEPARTMENTS) -> list[AgendaNeed]:
    """Issues whose seats are random sets of three to six departments."""
    rng = random.Random(seed)
    names = [f"d{j:02d}" for j in range(departments)]
    return [
        AgendaNeed.of(
            f"i{i:03d}",
            [rng.sample(names, rng.randint(3, 6)) for _ in range(rng.randint(1, 4))],
        )
        for i in range(ISSUES)
    ]


def _timed(needs: list[AgendaNeed], options: dict[str, object], reps: int) -> float:
    return best_of(lambda: plan_attendees(needs, **options), reps=reps)  # type: ignore[arg-type]


def row(label: str, candidates: int, plan: AttendeePlan, seconds: float) -> list[object]:
    factor = f"{plan.approximation:.2f}" if plan.approximation is not None else "-"
    return [
        label,
        candidates,
        plan.method,
        seconds * 1000,
        plan.size,
        plan.lower_bound,
        "yes" if plan.optimal else "no",
        factor,
        len(plan.covered),
        plan.nodes,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(environment("closedloop"))
    print(f"{ISSUES} agenda issues, {DEPARTMENTS} candidate departments, seed {args.seed}\n")
    rows: list[list[object]] = []
    families = [
        ("catalogue", catalogue_instance(args.seed)),
        ("random-60", random_instance(args.seed)),
        ("random-40", random_instance(args.seed, 40)),
    ]
    for family, needs in families:
        in_play = len({d for n in needs for seat in n.seats for d in seat.candidates})
        optimum = plan_attendees(needs, method="exact", max_nodes=REFERENCE_NODES)
        limit = max(1, optimum.size - 3)
        runs: list[tuple[str, dict[str, object], int]] = [("auto", {}, args.reps)]
        if in_play > 40:
            runs.append(("exact", {"method": "exact", "max_nodes": REFERENCE_NODES}, 1))
        else:
            runs.append(("greedy", {"method": "greedy"}, args.reps))
        runs.append((f"max {limit}", {"max_size": limit}, 1))
        runs.append((f"max {limit}, greedy", {"max_size": limit, "method": "greedy"}, args.reps))
        for label, options, reps in runs:
            plan = plan_attendees(needs, **options)  # type: ignore[arg-type]
            rows.append(row(f"{family}: {label}", in_play, plan, _timed(needs, options, reps)))
    print_table(
        [
            "instance: run",
            "candidates",
            "method",
            "ms",
            "size",
            "lower bound",
            "optimal",
            "H(d)",
            "covered",
            "nodes",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
