"""The group key of a failure reason: what the run page's error groups and its error filter
count and match on.

The key is computed once, when the engine writes a failed outcome (RecordOutcome.reason_key),
so grouping 100,000 failures is a GROUP BY on a column rather than three regular expressions
per row on every page load (bench/dashboard.py: 177 ms → see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re

KEY_LENGTH = 120
NO_REASON = "(no reason recorded)"

# Reason → group key, in order. Only single-quoted values go: validation quotes values with
# repr(), while double quotes are mostly a remote API's JSON, whose field names and messages
# are what groups errors.
_KEY_STEPS: list[tuple[re.Pattern[str], str]] = [
    (re.compile("'[^']*'"), "'…'"),  # quoted values: SKUs, emails, statuses
    (re.compile("#?[0-9]+([.,][0-9]+)*"), "#"),  # numbers and ids
    (re.compile("[ \t\r\n]+"), " "),  # runs of white space
]


def normalise_reason(reason: str | None) -> str:
    """The group key of a failure reason: values and numbers blanked, truncated."""
    text = reason or ""
    for pattern, repl in _KEY_STEPS:
        text = pattern.sub(repl, text)
    return text.strip(" ")[:KEY_LENGTH] or NO_REASON
