"""Errors raised by keyaccount.

Every error derives from :class:`KeyAccountError` and also from the built-in
exception that fits it, so callers may catch either. Messages name the
offending value and, where known, where it came from (file, line, column,
rule, position).
"""

from __future__ import annotations

__all__ = [
    "DuplicateCustomerError",
    "HierarchyCycleError",
    "InvalidMoneyError",
    "InvalidPeriodError",
    "KeyAccountError",
    "PortfolioValidationError",
    "PrecisionError",
    "SubSegmentMismatchError",
    "UnknownCustomerError",
    "UnknownLabelError",
    "UnknownProductError",
    "ValidationError",
]


class KeyAccountError(Exception):
    """Root of every error raised by keyaccount."""


class ValidationError(KeyAccountError, ValueError):
    """A value breaks one of the domain's rules."""


class UnknownLabelError(KeyAccountError, LookupError):
    """A tier, segment, sub-segment or role name that keyaccount does not know.

    Attributes:
        kind: What was being parsed (``"tier"``, ``"segment"``, ...).
        value: The text that did not match.
    """

    def __init__(self, kind: str, value: object, choices: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.value = value
        self.choices = choices
        hint = f"; expected one of {', '.join(choices)}" if choices else ""
        super().__init__(f"unknown {kind} {value!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidPeriodError(ValidationError):
    """A period (calendar month) that cannot be parsed or is out of range."""


class InvalidMoneyError(ValidationError):
    """A money amount that is not finite, not a number, a float, or finer than one fen."""


class SubSegmentMismatchError(ValidationError):
    """A sub-segment given together with a segment it does not belong to."""


class DuplicateCustomerError(ValidationError):
    """A customer id that is already taken."""


class HierarchyCycleError(ValidationError):
    """Parent links that would form a cycle in the account hierarchy."""


class UnknownCustomerError(KeyAccountError, LookupError):
    """A customer id that the portfolio does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownProductError(KeyAccountError, LookupError):
    """A product id that the catalogue does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PrecisionError(KeyAccountError, OverflowError):
    """Totals too large to be summed exactly on the fast path (beyond 2**53 fen)."""


class PortfolioValidationError(KeyAccountError, ExceptionGroup[Exception]):  # type: ignore[misc]
    """Several problems found in one batch; each is one of the errors above.

    Raised when a batch of customers or records has more than one problem, so
    that a user fixing a file sees all of them at once. Nothing of the batch
    is applied.
    """

    def __new__(
        cls, message: str, exceptions: list[Exception] | tuple[Exception, ...]
    ) -> PortfolioValidationError:
        return super().__new__(cls, message, list(exceptions))

    def derive(self, excs: object) -> PortfolioValidationError:  # noqa: D102
        return PortfolioValidationError(self.message, list(excs))  # type: ignore[call-overload]
