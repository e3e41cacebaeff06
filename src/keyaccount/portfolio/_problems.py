"""Problems found in one batch, raised together so that a user sees all of them at once."""

from __future__ import annotations

from keyaccount.exceptions import PortfolioValidationError

__all__ = ["MAX_REPORTED", "raise_problems"]

MAX_REPORTED = 1000
"""At most this many problems are listed in one :class:`PortfolioValidationError`."""


def raise_problems(problems: list[Exception], what: str) -> None:
    """Raise the problems of a batch, if any.

    Args:
        problems: The problems found, in batch order.
        what: What the batch holds, for the message (``"customers"``).

    Raises:
        Exception: the one problem, when there is exactly one.
        PortfolioValidationError: several problems (the first
            :data:`MAX_REPORTED` listed).
    """
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    shown = problems[:MAX_REPORTED]
    more = f" (first {MAX_REPORTED} listed)" if len(problems) > MAX_REPORTED else ""
    raise PortfolioValidationError(f"{len(problems)} problems in {what}{more}", shown)
