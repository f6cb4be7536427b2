"""Interoperability: tables, process-mining exports, conformance checks and Open311.

Everything here needs only the standard library, except the data-frame helpers, which
import pandas, polars or pyarrow when called (extras ``pandas``, ``polars``, ``arrow``).

* :mod:`~closedloop.interop.tables`: :func:`to_columns` and :func:`to_pandas`,
  :func:`to_polars`, :func:`to_arrow` for events, issue states, metrics and results;
* :mod:`~closedloop.interop.ocel`: OCEL 2.0 JSON and SQLite export and reading back;
* :mod:`~closedloop.interop.xes`: XES export with the issue as the case;
* :mod:`~closedloop.interop.petri`: the designed loop as a Petri net (PNML);
* :mod:`~closedloop.interop.conformance`: which issues left the designed loop;
* :mod:`~closedloop.interop.open311`: Open311 GeoReport v2 export and import.
"""

from closedloop.interop._common import ACTIVITIES, activity_of
from closedloop.interop.conformance import (
    ConformanceReport,
    Violation,
    ViolationKind,
    check_conformance,
)
from closedloop.interop.ocel import (
    OCEL_OBJECT_TYPES,
    OcelEvent,
    OcelLog,
    OcelObject,
    closedloop_id,
    read_ocel_json,
    read_ocel_sqlite,
    to_ocel_json,
    write_ocel_json,
    write_ocel_sqlite,
)
from closedloop.interop.open311 import (
    ImportedRequest,
    Open311Problem,
    from_open311,
    from_open311_json,
    parse_open311_json,
    to_open311,
    to_open311_json,
    validate_open311,
)
from closedloop.interop.petri import (
    LoopNet,
    NetTransition,
    designed_loop_net,
    designed_loop_pnml,
)
from closedloop.interop.tables import (
    event_table,
    issue_table,
    to_arrow,
    to_columns,
    to_pandas,
    to_polars,
)
from closedloop.interop.xes import XesTrace, read_xes, write_xes, xes_columns

__all__ = [
    "ACTIVITIES",
    "OCEL_OBJECT_TYPES",
    "ConformanceReport",
    "ImportedRequest",
    "LoopNet",
    "NetTransition",
    "OcelEvent",
    "OcelLog",
    "OcelObject",
    "Open311Problem",
    "Violation",
    "ViolationKind",
    "XesTrace",
    "activity_of",
    "check_conformance",
    "closedloop_id",
    "designed_loop_net",
    "designed_loop_pnml",
    "event_table",
    "from_open311",
    "from_open311_json",
    "issue_table",
    "parse_open311_json",
    "read_ocel_json",
    "read_ocel_sqlite",
    "read_xes",
    "to_arrow",
    "to_columns",
    "to_ocel_json",
    "to_open311",
    "to_open311_json",
    "to_pandas",
    "to_polars",
    "validate_open311",
    "write_ocel_json",
    "write_ocel_sqlite",
    "write_xes",
    "xes_columns",
]
