"""Shared test configuration: hypothesis profiles.

``default`` is quick for local runs and explores afresh each time; ``ci`` is thorough
and is selected by ``.ci/run`` through ``HYPOTHESIS_PROFILE=ci``. CI runs a fixed set
of examples (``derandomize``), so a run on a clean machine checks exactly what the last
one did: new cases are found locally, and each one found is pinned with ``@example``.
``explore`` runs 1,000 random examples per property, for a long local hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    derandomize=True,
)
settings.register_profile(
    "explore",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
