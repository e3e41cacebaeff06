"""Errors raised by keyaccount.

Every error derives from :class:`KeyAccountError` and also from the built-in
exception that fits it, so callers may catch either. Messages name the
offending value and, where known, where it came from (file, line, column,
rule, position).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CsvFileNotFoundError",
    "CsvHeaderError",
    "CsvImportError",
    "CsvRowError",
    "DuplicateCustomerError",
    "FrameRowError",
    "HierarchyCycleError",
    "IllegalMoveError",
    "InvalidMoneyError",
    "InvalidPeriodError",
    "KeyAccountError",
    "OutputError",
    "PayoutSchemeError",
    "PayoutSchemeValidationError",
    "PolicyError",
    "PolicyValidationError",
    "PortfolioValidationError",
    "PrecisionError",
    "RuleSyntaxError",
    "SchemaVersionError",
    "StaleChangeError",
    "StoreBusyError",
    "StoreNotEmptyError",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "SubSegmentMismatchError",
    "UnknownCustomerError",
    "UnknownItemError",
    "UnknownLabelError",
    "UnknownProductError",
    "UnknownProjectGroupError",
    "ValidationError",
    "shorten",
]

SHOWN_CHARACTERS = 80
"""How many characters of an offending value an error message quotes."""


def shorten(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters of a long text.

    A message quotes the value it refuses; a 100 MB field or a 10-million-digit
    literal is quoted by its first ``limit`` characters and its length, so that
    an error stays one readable line.

    Example:
        >>> shorten("x" * 100_000, limit=5)
        "'xxxxx...' (100,000 characters)"
        >>> shorten("short")
        "'short'"
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}"[:-1] + f"...' ({len(value):,} characters)"
    if isinstance(value, bytes) and len(value) > limit:
        return f"{value[:limit]!r}"[:-1] + f"...' ({len(value):,} bytes)"
    text = repr(value)
    if len(text) > limit + 2:
        return f"{text[:limit]}... ({len(text):,} characters)"
    return text


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


class UnknownCustomerError(KeyAccountError, KeyError):
    """A customer id that the portfolio (or a metrics table) does not hold.

    A ``KeyError``, like a missing key of any mapping; ``str()`` is the plain message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownProductError(KeyAccountError, KeyError):
    """A product id that the catalogue does not hold.

    A ``KeyError``, so that :class:`~keyaccount.ProductCatalog` behaves as a
    ``Mapping`` (``catalog.get(pid)`` gives ``None``); ``str()`` is the plain message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PrecisionError(KeyAccountError, OverflowError):
    """A total too large to be kept exactly: beyond 64-bit fen, or 2**53 fen on a float64 path.

    ``docs/limits.md`` states the limits (per amount, per customer-month, per
    total); a sum past them is refused with this error, never wrapped or rounded.
    """


_E = TypeVar("_E", bound=Exception)
_BE = TypeVar("_BE", bound=BaseException)


class _GroupError(KeyAccountError, ExceptionGroup[Exception]):
    """An ``ExceptionGroup`` of keyaccount errors that keeps its class when split.

    ``except*`` and :meth:`split` build the parts with :meth:`derive`, so a
    part of a :class:`PortfolioValidationError` is again one.
    """

    def __new__(cls, message: str, exceptions: Sequence[Exception]) -> Self:
        """A group of ``exceptions`` (a non-empty sequence) with ``message``."""
        return super().__new__(cls, message, list(exceptions))

    @overload
    def derive(self, excs: Sequence[_E], /) -> ExceptionGroup[_E]: ...

    @overload
    def derive(self, excs: Sequence[_BE], /) -> BaseExceptionGroup[_BE]: ...

    def derive(self, excs: Sequence[BaseException], /) -> BaseExceptionGroup[BaseException]:
        """A group of the same class and message holding ``excs``."""
        exceptions = [e for e in excs if isinstance(e, Exception)]
        if len(exceptions) != len(excs):
            return BaseExceptionGroup(self.message, list(excs))
        return type(self)(self.message, exceptions)


class PortfolioValidationError(_GroupError):
    """Several problems found in one batch; each is one of the errors above.

    Raised when a batch of customers or records has more than one problem, so
    that a user fixing a file sees all of them at once. Nothing of the batch
    is applied.
    """


class RuleSyntaxError(KeyAccountError, ValueError):
    """A rule condition that cannot be used.

    Raised for bad syntax, an unknown metric or product, a type mismatch, or a
    money literal finer than one fen.

    Attributes:
        detail: What is wrong, without the location.
        rule: The rule's name, when known.
        source: Where the rule came from (a file name), when known.
        text: The condition text.
        line: 1-based line of the problem in ``text``.
        column: 1-based column of the problem in ``text``.
    """

    def __init__(
        self,
        detail: str,
        *,
        text: str = "",
        offset: int = 0,
        rule: str | None = None,
        source: str | None = None,
    ) -> None:
        self.detail = detail
        self.text = text
        self.offset = offset
        self.rule = rule
        self.source = source
        before = text[:offset]
        self.line = before.count("\n") + 1
        self.column = offset - (before.rfind("\n") + 1) + 1
        super().__init__(self._message())

    def _message(self) -> str:
        where = [self.source] if self.source else []
        if self.rule is not None:
            where.append(f"rule {shorten(self.rule)}")
        where.append(f"line {self.line}, column {self.column} of the condition")
        return f"{', '.join(where)}: {self.detail}"

    def located(self, *, rule: str | None = None, source: str | None = None) -> RuleSyntaxError:
        """The same error with the rule name and source filled in where they were unknown."""
        return type(self)(
            self.detail,
            text=self.text,
            offset=self.offset,
            rule=self.rule if self.rule is not None else rule,
            source=self.source if self.source is not None else source,
        )

    def __str__(self) -> str:
        return str(self.args[0])


class PolicyError(KeyAccountError, ValueError):
    """A policy that cannot be loaded: a bad key, tier or segment, a duplicate rule name.

    The message names the policy source (file) and the rule where known.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PolicyValidationError(_GroupError):
    """Several problems found in one policy, raised together.

    Each is a :class:`RuleSyntaxError` or :class:`PolicyError`, so a user
    fixing a policy file sees all of them at once.
    """


class CsvRowError(ValidationError):
    """A bad row in a CSV file: which file, line and column, the value and why.

    Attributes:
        path: The file.
        line: 1-based line number in the file (the header is line 1).
        column: The column at fault, or ``None`` when the whole row is (a wrong
            number of fields, text that is not valid CSV).
        value: The offending text (for a whole-row problem, the row's fields
            joined by commas).
        reason: Why the value is refused.
    """

    def __init__(self, path: str, line: int, column: str | None, value: str, reason: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.value = value
        self.reason = reason
        where = f"{path}, line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason} (value {shorten(value)})")

    def __reduce__(self) -> tuple[type[CsvRowError], tuple[str, int, str | None, str, str]]:
        return (type(self), (self.path, self.line, self.column, self.value, self.reason))


class FrameRowError(CsvRowError):
    """A bad row of a DataFrame or Arrow table (``Portfolio.from_frames``).

    The attributes of :class:`CsvRowError`, where ``path`` names the frame
    (``"customers frame"``) and ``line`` is the row's position in it, from 0
    (also given as :attr:`row`).
    """

    def __init__(self, path: str, line: int, column: str | None, value: str, reason: str) -> None:
        super().__init__(path, line, column, value, reason)
        where = f"{path}, row {line}"
        if column is not None:
            where += f", column {column!r}"
        self.args = (f"{where}: {reason} (value {shorten(value)})",)

    @property
    def row(self) -> int:
        """The row's position in the frame, from 0."""
        return self.line


class CsvHeaderError(ValidationError):
    """A CSV file whose header line lacks a required column, names an unknown one or is empty.

    Attributes:
        path: The file.
        missing: Required columns the header lacks.
        unknown: Header names that are not columns of the format.
        duplicated: Header names given more than once.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        missing: tuple[str, ...] = (),
        unknown: tuple[str, ...] = (),
        duplicated: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.missing = missing
        self.unknown = unknown
        self.duplicated = duplicated
        super().__init__(f"{path}, line 1 (header): {message}")


class CsvFileNotFoundError(KeyAccountError, FileNotFoundError):
    """A CSV file to import that does not exist.

    Attributes:
        path: The file.
    """

    def __init__(self, path: str, what: str = "CSV file") -> None:
        self.path = path
        super().__init__(f"{what} not found: {path}")

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[CsvFileNotFoundError], tuple[str]]:
        return (type(self), (self.path,))


class CsvImportError(PortfolioValidationError):
    """Every bad row of one CSV file; raised after the whole file was read.

    Attributes:
        path: The file.
        total: How many bad rows the file has; ``exceptions`` lists the
            first of them (at most 1000 by default) as :class:`CsvRowError`,
            in file order.
    """

    path: str
    total: int

    def __new__(cls, path: str, exceptions: Sequence[Exception], total: int = -1) -> Self:
        """The group of ``exceptions`` found in ``path`` (``total`` of them in all)."""
        listed = list(exceptions)
        count = len(listed) if total < 0 else total
        more = count - len(listed)
        message = f"{count} bad {'row' if count == 1 else 'rows'} in {path}"
        if more > 0:
            message += f" ({len(listed)} listed, {more} more not shown)"
        self = super().__new__(cls, message, listed)
        self.path = path
        self.total = count
        return self

    def __init__(self, path: str, exceptions: Sequence[Exception], total: int = -1) -> None:
        super().__init__(self.message, list(self.exceptions))

    @property
    def row_errors(self) -> list[CsvRowError]:
        """The listed bad rows, typed."""
        return [e for e in self.exceptions if isinstance(e, CsvRowError)]

    @overload
    def derive(self, excs: Sequence[_E], /) -> ExceptionGroup[_E]: ...

    @overload
    def derive(self, excs: Sequence[_BE], /) -> BaseExceptionGroup[_BE]: ...

    def derive(self, excs: Sequence[BaseException], /) -> BaseExceptionGroup[BaseException]:
        """A group of the same file holding ``excs`` (used by ``except*`` and :meth:`split`)."""
        exceptions = [e for e in excs if isinstance(e, Exception)]
        if len(exceptions) != len(excs):
            return BaseExceptionGroup(self.message, list(excs))
        return CsvImportError(self.path, exceptions)

    def __reduce__(self) -> tuple[type[CsvImportError], tuple[str, list[Exception], int]]:
        return (type(self), (self.path, list(self.exceptions), self.total))


class SchemaVersionError(KeyAccountError, RuntimeError):
    """A database whose keyaccount schema this library cannot read or migrate.

    Raised when a :class:`~keyaccount.store.Store` opens a database of another
    schema version, or one with keyaccount tables but no version; the database
    is left untouched. An older store is upgraded only when asked
    (``keyaccount db upgrade``, ``Store.upgrade``); the message says how.

    Attributes:
        found: The version recorded in the database (``None`` when the
            database holds keyaccount tables but no version).
        expected: The version this library reads and writes.
        url: The database, without its password.
    """

    def __init__(self, found: int | None, expected: int, url: str) -> None:
        self.found = found
        self.expected = expected
        self.url = url
        what = "no schema version" if found is None else f"schema version {found}"
        if self.upgradable:
            todo = (
                f"upgrade it first, nothing was changed: `keyaccount db upgrade --db {url}` "
                f"or Store.upgrade({url!r})"
            )
        elif found is None:
            todo = "it is not a store this library can open or upgrade; check the URL"
        else:
            todo = "it was written by a newer library: open it with that version (or a later one)"
        super().__init__(
            f"database {url} has keyaccount {what}; this library reads and writes schema "
            f"version {expected}: {todo}"
        )

    @property
    def upgradable(self) -> bool:
        """Whether the store is older than the library and can be upgraded to its version."""
        return self.found is not None and 1 <= self.found < self.expected

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[SchemaVersionError], tuple[int | None, int, str]]:
        return (type(self), (self.found, self.expected, self.url))


class StoreNotEmptyError(KeyAccountError, RuntimeError):
    """Saving a portfolio into a store that already holds one, without asking to replace it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StaleChangeError(ValidationError):
    """A tier or segment change whose ``before`` is not the customer's current value.

    The change was decided on a state that has changed since (another writer
    applied a change first); nothing of its batch is applied. Decide again on
    the current state and retry.

    Attributes:
        customer_id: The customer.
        attribute: ``"tier"`` or ``"segment"``.
        expected: The value the change assumed (``before``), as a name or ``None``.
        actual: The customer's current value, as a name or ``None``.
    """

    def __init__(
        self, customer_id: str, attribute: str, expected: str | None, actual: str | None
    ) -> None:
        self.customer_id = customer_id
        self.attribute = attribute
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"customer {customer_id!r}: {attribute} change from {expected} is stale; "
            f"the current {attribute} is {actual}"
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(
        self,
    ) -> tuple[type[StaleChangeError], tuple[str, str, str | None, str | None]]:
        return (type(self), (self.customer_id, self.attribute, self.expected, self.actual))


class UnknownProjectGroupError(KeyAccountError, KeyError):
    """A project group id that the store, the portfolio or a cross-sell model does not hold.

    A ``KeyError``, like a missing key of any mapping; ``str()`` is the plain message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PayoutSchemeError(KeyAccountError, ValueError):
    """An incentive payout scheme that cannot be used: names the scheme and what is wrong.

    For example a project manager's share below the 40% floor (the message names the
    scheme, the role and the share), overlapping brackets, or a negative rate.
    """


class PayoutSchemeValidationError(_GroupError, PayoutSchemeError):
    """Several problems found in one payout scheme, raised together.

    Each is a :class:`PayoutSchemeError`; the group is one too, so
    ``except PayoutSchemeError`` catches a single problem and a group alike.
    """


class IllegalMoveError(KeyAccountError, ValueError):
    """A move a state machine does not allow (a project stage, a supervision item's state).

    The message names both states: where the thing is and where the move would take it.
    """

    def __init__(
        self, what: str, current: str, requested: str, allowed: Sequence[str] = ()
    ) -> None:
        self.what = what
        self.current = current
        self.requested = requested
        self.allowed = tuple(allowed)
        hint = f"; allowed from {current}: {', '.join(self.allowed)}" if self.allowed else ""
        super().__init__(f"{what}: cannot move from {current} to {requested}{hint}")

    def __reduce__(self) -> tuple[type[IllegalMoveError], tuple[str, str, str, tuple[str, ...]]]:
        return (type(self), (self.what, self.current, self.requested, self.allowed))


class UnknownItemError(KeyAccountError, KeyError):
    """A supervision item id (or another operations record) that is not known.

    A ``KeyError``, like a missing key of any mapping; ``str()`` is the plain message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreUnavailableError(KeyAccountError, OSError):
    """A database that cannot be opened or used: not a keyaccount store, unreachable, read-only.

    The message names the database (its URL without the password, or the
    file), what went wrong and what to do. The store is left as it was.

    Attributes:
        url: The database, without its password.
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[type[StoreUnavailableError], tuple[str, str]]:
        return (type(self), (self.url, str(self)))


class StoreNotFoundError(StoreUnavailableError, FileNotFoundError):
    """A store opened for reading that does not exist (no file, or no keyaccount tables)."""


class StoreBusyError(KeyAccountError, TimeoutError):
    """Another writer held the store past the wait, or won a race for the same rows.

    Nothing of the operation was written; running it again is safe (it is
    retryable).

    Attributes:
        url: The database, without its password.
    """

    retryable = True

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[type[StoreBusyError], tuple[str, str]]:
        return (type(self), (self.url, str(self)))


class OutputError(KeyAccountError, OSError):
    """A file that could not be written (a missing directory, a full disk, no permission).

    Outputs are written to a temporary file beside the target and renamed into
    place only when the whole command succeeded, so an earlier file of the
    same name is left as it was.

    Attributes:
        path: The file that was to be written.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[type[OutputError], tuple[str, str]]:
        return (type(self), (self.path, str(self)))
