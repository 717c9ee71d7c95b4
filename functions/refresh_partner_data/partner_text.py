"""Partner-supplied text (key names, values) as it may appear in an error, a log line or the summary.

In a message, ``shown``: cut to ``MAX_SHOWN_CHARS`` before it is escaped, then escaped as a JSON
string with ASCII only: a 200,000-character key name costs a message a hundred characters, and no
control character, line break or terminal escape of the partner's reaches a log. In a field of a
structured log line or of the summary, ``cut``: the JSON they are written as escapes it.
"""

from __future__ import annotations

import json

MAX_SHOWN_CHARS = 64


def shown(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text`` quoted and escaped, cut to ``limit`` characters with how many more there were."""
    quoted = json.dumps(text[:limit], ensure_ascii=True)
    return quoted if len(text) <= limit else f"{quoted}… ({len(text) - limit:,} more characters)"


def cut(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis if it was longer."""
    return text if len(text) <= limit else text[:limit] + "…"
