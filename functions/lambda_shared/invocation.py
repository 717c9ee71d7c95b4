"""What the Lambda runtime tells a handler about the invocation it is in."""

from __future__ import annotations

from typing import Any


def remaining_seconds(context: Any, default: float) -> float:
    """Seconds left before Lambda stops the invocation; ``default`` when the context cannot say."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else default
