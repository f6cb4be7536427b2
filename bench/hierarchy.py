"""Benchmark: a national-scale administrative tree, beside peers, in one process.

Run: ``python bench/hierarchy.py`` (``--quick`` for a smaller tree). rustworkx is
optional (skipped with a note when missing); networkx is a dependency.

The tree comes from ``generate_hierarchy(NATIONAL_SHAPE)``: 641,815 units, nation,
31 provinces, 333 prefectures, 2,850 counties, 38,600 towns and 600,000 villages, every
parent with at least one child, the rest spread at random; ids are the admin codes.

Queries (the same random sample for every backend, uniform over all units, so about
93 % are villages):

* anc: the ancestor path of a unit, nearest first, up to the root;
* lca: the lowest common ancestor of a random pair;
* within: whether a unit is in an area's jurisdiction, for a random pair;
* sub: the number of units in a unit's jurisdiction.

Backends: closedloop by id (the public methods, string ids in, ``AdminUnit`` records
out) and by index (the ``*_index`` methods on preorder positions); a raw parent / depth
/ size array walk (the plain-Python floor, integer ids); networkx ``DiGraph`` keyed by
the same string ids (walking ``G.pred``; ``nx.descendants`` for sizes); rustworkx
``PyDiGraph`` on integer indices (walking ``predecessor_indices``; ``rx.descendants``
for sizes). Every backend's answers are checked against closedloop's before timing.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from random import Random
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import networkx as nx
from _util import best_of, environment, print_table

from closedloop.hierarchy import NATIONAL_SHAPE, AdminUnit, Hierarchy, generate_hierarchy

QUICK_SHAPE = (1, 31, 200, 1_000, 6_000, 60_000)

Query = tuple[str, int]


def _rss_bytes() -> int:
    """Resident set size of this process (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0
    import resource

    return pages * resource.getpagesize()


def retained_bytes(build: Callable[[], object]) -> tuple[object, int]:
    """What ``build()`` allocates and keeps, as tracemalloc sees it."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return built, after - before


class Raw:
    """Parent, depth and subtree-size arrays over integer ids in BFS order."""

    def __init__(self, parent: Sequence[int]) -> None:
        n = len(parent)
        par = array("i", parent)
        depth = array("B", bytes(n))
        for i in range(1, n):  # parents come first
            depth[i] = depth[par[i]] + 1
        size = array("i", [1]) * n
        for i in range(n - 1, 0, -1):
            size[par[i]] += size[i]
        self.par, self.depth, self.size = par, depth, size

    def ancestors(self, x: int) -> list[int]:
        par = self.par
        out = []
        x = par[x]
        while x >= 0:
            out.append(x)
            x = par[x]
        return out

    def lca(self, a: int, b: int) -> int:
        par, depth = self.par, self.depth
        da, db = depth[a], depth[b]
        while da > db:
            a = par[a]
            da -= 1
        while db > da:
            b = par[b]
            db -= 1
        while a != b:
            a = par[a]
            b = par[b]
        return a

    def within(self, x: int, area: int) -> bool:
        par, depth = self.par, self.depth
        d = depth[area]
        while depth[x] > d:
            x = par[x]
        return x == area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller tree, for a smoke run")
    args = parser.parse_args()
    shape = QUICK_SHAPE if args.quick else NATIONAL_SHAPE
    queries = 20_000 if args.quick else 100_000
    reps = 3

    print("administrative hierarchy, national scale")
    print(environment("closedloop", "networkx", "rustworkx"))
    started = time.perf_counter()
    hierarchy = generate_hierarchy(shape, seed=7)
    generated = time.perf_counter() - started
    units: list[AdminUnit] = list(hierarchy)
    n = len(units)
    print(f"{n:,} units, shape {shape}; generated in {generated:.2f} s; {queries:,} queries")

    # Inputs: the rows in code order (preorder) and level by level (BFS order).
    bfs = sorted(units, key=lambda u: hierarchy.rank(u.id))
    bfs_index = {u.id: k for k, u in enumerate(bfs)}
    bfs_parent = [bfs_index[u.parent] if u.parent is not None else -1 for u in bfs]
    rnd = Random(11)
    ids = [u.id for u in units]
    anc_q = [rnd.choice(ids) for _ in range(queries)]
    pairs = [(rnd.choice(ids), rnd.choice(ids)) for _ in range(queries)]
    sub_q = [rnd.choice(ids) for _ in range(queries)]

    # -- backends ----------------------------------------------------------------
    edges = [(u.parent, u.id) for u in units if u.parent is not None]

    def nx_build() -> Any:
        graph = nx.DiGraph()
        graph.add_edges_from(edges)
        return graph

    rx: Any
    try:
        import rustworkx as rx
    except ImportError:
        rx = None
        print("rustworkx not installed: its rows are skipped")
    int_edges = [(p, i) for i, p in enumerate(bfs_parent) if p >= 0]

    def rx_build() -> Any:
        graph = rx.PyDiGraph(check_cycle=False, multigraph=False)
        graph.add_nodes_from(range(n))
        graph.add_edges_from_no_data(int_edges)
        return graph

    # -- memory ------------------------------------------------------------------
    memory_rows: list[list[object]] = []
    if rx is not None:
        # rustworkx allocates outside Python's allocator, so tracemalloc cannot see it;
        # the growth of the resident set is a rough (low) stand-in, taken first, before
        # the other builds leave freed memory behind for it to reuse.
        gc.collect()
        rss = _rss_bytes()
        rx_graph = rx_build()
        rx_total = _rss_bytes() - rss
        memory_rows.append(["rustworkx PyDiGraph (RSS growth, rough)", rx_total, rx_total / n])
        del rx_graph
    built, total = retained_bytes(lambda: Hierarchy(units))
    assert isinstance(built, Hierarchy)
    # The tree proper: three arrays (parent, end of subtree, level rank), read from the
    # private slots because no public API needs their size.
    structure = sum(sys.getsizeof(a) for a in (built._parent, built._end, built._rank))
    memory_rows.append(["closedloop: tree arrays (parent, end, rank)", structure, structure / n])
    memory_rows.append(
        ["closedloop: whole build (arrays + id index + unit tuple)", total, total / n]
    )
    del built
    raw, raw_total = retained_bytes(lambda: Raw(bfs_parent))
    memory_rows.append(["raw arrays (parent, depth, size)", raw_total, raw_total / n])
    del raw
    graph, nx_total = retained_bytes(nx_build)
    memory_rows.append(["networkx DiGraph, string ids", nx_total, nx_total / n])
    del graph
    gc.collect()

    # -- builds ------------------------------------------------------------------
    build_rows: list[list[object]] = []

    def build(label: str, fn: Callable[[], object], count: int = reps) -> float:
        seconds = best_of(fn, reps=count)
        build_rows.append([label, seconds])
        return seconds

    build("closedloop, rows in code order (preorder), codes checked", lambda: Hierarchy(units))
    build(
        "closedloop, rows in code order (preorder), check_codes=False",
        lambda: Hierarchy(units, check_codes=False),
    )
    build("closedloop, rows level by level (BFS), codes checked", lambda: Hierarchy(bfs))
    build(
        "closedloop, rows level by level (BFS), check_codes=False",
        lambda: Hierarchy(bfs, check_codes=False),
    )
    mappings = hierarchy.to_rows()
    build("closedloop, from mappings (preorder), codes checked", lambda: Hierarchy(mappings), 1)
    build("raw arrays from a BFS parent list (+ depth, size)", lambda: Raw(bfs_parent))
    build("networkx DiGraph, string ids", nx_build)
    if rx is not None:
        build("rustworkx PyDiGraph, integer indices", rx_build)

    # -- queries -----------------------------------------------------------------
    h = Hierarchy(units)
    raw = Raw(bfs_parent)
    graph = nx_build()
    pred = graph.pred
    pos = {u.id: h.index_of(u.id) for u in units}
    anc_i = [pos[x] for x in anc_q]
    pairs_i = [(pos[a], pos[b]) for a, b in pairs]
    anc_b = [bfs_index[x] for x in anc_q]
    pairs_b = [(bfs_index[a], bfs_index[b]) for a, b in pairs]
    sub_b = [bfs_index[x] for x in sub_q]

    def nx_up(x: str) -> list[str]:
        out = []
        while ps := pred[x]:
            x = next(iter(ps))
            out.append(x)
        return out

    def nx_lca(a: str, b: str) -> str:
        above = set(nx_up(b))
        above.add(b)
        if a in above:
            return a
        return next(x for x in nx_up(a) if x in above)

    def nx_within(x: str, area: str) -> bool:
        while x != area:
            ps = pred[x]
            if not ps:
                return False
            x = next(iter(ps))
        return True

    # Truth: closedloop by id; every other backend must agree before it is timed.
    truth_anc = [[u.id for u in h.ancestors(x)] for x in anc_q]
    truth_lca = [h.lowest_common_ancestor(a, b).id for a, b in pairs]
    truth_within = [h.is_within(a, b) for a, b in pairs]
    truth_sub = [h.subtree_size(x) for x in sub_q]
    to_id = [u.id for u in units]
    bfs_id = [u.id for u in bfs]
    assert [[to_id[i] for i in h.ancestor_indices(x)] for x in anc_i] == truth_anc
    assert [to_id[h.lowest_common_ancestor_index(a, b)] for a, b in pairs_i] == truth_lca
    assert [h.is_within_index(a, b) for a, b in pairs_i] == truth_within
    assert [[bfs_id[i] for i in raw.ancestors(x)] for x in anc_b] == truth_anc
    assert [bfs_id[raw.lca(a, b)] for a, b in pairs_b] == truth_lca
    assert [raw.within(a, b) for a, b in pairs_b] == truth_within
    assert [raw.size[x] for x in sub_b] == truth_sub
    assert [nx_up(x) for x in anc_q] == truth_anc
    assert [nx_lca(a, b) for a, b in pairs] == truth_lca
    assert [nx_within(a, b) for a, b in pairs] == truth_within
    slow = queries // 10
    assert [len(nx.descendants(graph, x)) + 1 for x in sub_q[:slow]] == truth_sub[:slow]

    def timed(fn: Callable[[], object], count: int) -> float:
        return best_of(fn, reps=reps) / count * 1e6

    results: dict[str, list[float | None]] = {}
    results["closedloop, by id"] = [
        timed(lambda: [h.ancestors(x) for x in anc_q], queries),
        timed(lambda: [h.lowest_common_ancestor(a, b) for a, b in pairs], queries),
        timed(lambda: [h.is_within(a, b) for a, b in pairs], queries),
        timed(lambda: [h.subtree_size(x) for x in sub_q], queries),
    ]
    results["closedloop, id -> index only"] = [
        timed(lambda: [h.index_of(x) for x in anc_q], queries),
        timed(lambda: [(h.index_of(a), h.index_of(b)) for a, b in pairs], queries),
        timed(lambda: [(h.index_of(a), h.index_of(b)) for a, b in pairs], queries),
        timed(lambda: [h.index_of(x) for x in sub_q], queries),
    ]
    results["closedloop, by index"] = [
        timed(lambda: [h.ancestor_indices(x) for x in anc_i], queries),
        timed(lambda: [h.lowest_common_ancestor_index(a, b) for a, b in pairs_i], queries),
        timed(lambda: [h.is_within_index(a, b) for a, b in pairs_i], queries),
        None,
    ]
    raw_size = raw.size
    results["raw arrays, integer ids"] = [
        timed(lambda: [raw.ancestors(x) for x in anc_b], queries),
        timed(lambda: [raw.lca(a, b) for a, b in pairs_b], queries),
        timed(lambda: [raw.within(a, b) for a, b in pairs_b], queries),
        timed(lambda: [raw_size[x] for x in sub_b], queries),
    ]
    results["networkx DiGraph, string ids"] = [
        timed(lambda: [nx_up(x) for x in anc_q], queries),
        timed(lambda: [nx_lca(a, b) for a, b in pairs], queries),
        timed(lambda: [nx_within(a, b) for a, b in pairs], queries),
        timed(lambda: [len(nx.descendants(graph, x)) + 1 for x in sub_q[:slow]], slow),
    ]
    if rx is not None:
        rx_graph = rx_build()
        predecessors = rx_graph.predecessor_indices

        def rx_up(x: int) -> list[int]:
            out = []
            while ps := predecessors(x):
                x = ps[0]
                out.append(x)
            return out

        def rx_lca(a: int, b: int) -> int:
            above = set(rx_up(b))
            above.add(b)
            if a in above:
                return a
            return next(x for x in rx_up(a) if x in above)

        def rx_within(x: int, area: int) -> bool:
            while x != area:
                ps = predecessors(x)
                if not ps:
                    return False
                x = ps[0]
            return True

        assert [[bfs_id[i] for i in rx_up(x)] for x in anc_b] == truth_anc
        assert [bfs_id[rx_lca(a, b)] for a, b in pairs_b] == truth_lca
        assert [rx_within(a, b) for a, b in pairs_b] == truth_within
        assert [len(rx.descendants(rx_graph, x)) + 1 for x in sub_b[:slow]] == truth_sub[:slow]
        results["rustworkx PyDiGraph, integer ids"] = [
            timed(lambda: [rx_up(x) for x in anc_b], queries),
            timed(lambda: [rx_lca(a, b) for a, b in pairs_b], queries),
            timed(lambda: [rx_within(a, b) for a, b in pairs_b], queries),
            timed(lambda: [len(rx.descendants(rx_graph, x)) + 1 for x in sub_b[:slow]], slow),
        ]

    print()
    print("build (median of 3; from mappings: 1 run)")
    print_table(["input", "seconds"], build_rows)
    print()
    print("memory kept by the built structure")
    print_table(["structure", "bytes", "bytes/unit"], memory_rows)
    print()
    print("queries, µs per query (median of 3 runs); all backends agree on every answer")
    ops = ["anc", "lca", "within", "sub"]
    print_table(
        ["backend", *ops],
        [[name, *("-" if v is None else v for v in values)] for name, values in results.items()],
    )
    print()
    print("ratios, backend time / closedloop time (same run): string-id backends against")
    print("closedloop by id, integer-id backends against closedloop by index (sub: by id)")
    by_id, by_index = results["closedloop, by id"], results["closedloop, by index"]
    ratio_rows: list[list[object]] = []
    for name, values in results.items():
        if name.startswith("closedloop"):
            continue
        base = by_id if "string ids" in name else by_index
        cells: list[object] = []
        for k, value in enumerate(values):
            ours = base[k] if base[k] is not None else by_id[k]
            cells.append("-" if value is None or ours is None else f"{value / ours:.2f}x")
        ratio_rows.append([name, *cells])
    print_table(["backend", *ops], ratio_rows)


if __name__ == "__main__":
    main()
