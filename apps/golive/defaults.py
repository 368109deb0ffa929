"""The default cutover plan a project gets on first access: six stages with their checks and
approvals, and the cutover units with their system of record per stage."""

from __future__ import annotations

from typing import Any

from apps.golive.choices import CheckKind, Direction, Side

K = CheckKind

GO_LIVE = "go_live"

# (key, name, description, required approvals, [(check kind, threshold)])
STAGES: list[tuple[str, str, str, int, list[tuple[str, float]]]] = [
    (
        "baseline",
        "Baseline verified",
        "A full migration succeeded and a verify report proves it.",
        1,
        [(K.BASELINE_VERIFIED, 1), (K.FAILURE_RATE, 1.0)],
    ),
    (
        "clear",
        "Conflicts and failures clear",
        "The review queue is empty and the last sync left (almost) nothing failed.",
        1,
        [(K.OPEN_CONFLICTS, 0), (K.FAILURE_RATE, 0.5), (K.RECONCILIATION, 0)],
    ),
    (
        "redirects",
        "Redirects ready",
        "Old URLs answer with a verified redirect to their new page.",
        1,
        [(K.REDIRECT_COVERAGE, 95.0)],
    ),
    (
        "final_sweep",
        "Final sweep",
        "A recent delta (with deletes) brought the target up to date.",
        1,
        [(K.SWEEP_AGE, 60), (K.RECONCILIATION, 0), (K.OPEN_CONFLICTS, 0)],
    ),
    (
        GO_LIVE,
        "Go live",
        "Switch the storefront: the target becomes the system of record.",
        2,
        [(K.DELTA_AGE, 30), (K.FAILURE_RATE, 0.5), (K.OPEN_CONFLICTS, 0)],
    ),
    (
        "post_launch",
        "Post-launch",
        "The new store runs clean after the switch.",
        1,
        [(K.FAILURE_RATE, 1.0), (K.RECONCILIATION, 0)],
    ),
]

STAGE_KEYS = [stage[0] for stage in STAGES]
_LIVE_STAGES = {GO_LIVE, "post_launch"}

_TRIGGERS = {"failure_rate_above": 5.0, "mismatches_above": 50, "manual": True}

# (key, name, entities, rollback window in hours, deltas keep flowing after go-live)
UNITS: list[tuple[str, str, list[str], int, bool]] = [
    ("catalog", "Catalog", ["categories", "brands", "products"], 72, False),
    ("customers", "Customers", ["customers"], 72, False),
    # Orders still land on the old store while DNS and caches move: deltas continue a while.
    ("orders", "Orders", ["orders"], 24, True),
    ("content", "Content (blog posts)", ["posts"], 72, False),
    ("redirects", "Redirects", ["redirects"], 168, False),
]


def unit_defaults(after_live_deltas: bool) -> dict[str, Any]:
    system_of_record = {
        key: (Side.TARGET if key in _LIVE_STAGES else Side.SOURCE).value for key in STAGE_KEYS
    }
    direction = {key: Direction.SOURCE_TO_TARGET.value for key in STAGE_KEYS}
    if not after_live_deltas:
        direction["post_launch"] = Direction.NONE.value
    return {
        "system_of_record": system_of_record,
        "delta_direction": direction,
        "rollback_triggers": dict(_TRIGGERS),
    }
