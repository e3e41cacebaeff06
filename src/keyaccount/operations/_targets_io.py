"""Reading targets: from a Python mapping, a TOML file or a CSV file, every problem located.

A TOML file (and a mapping) holds one table per project group: keys are spans
(``2022``, ``2022Q1``, ``2022-03``) and values yuan, given as text (``"1200000.50"``) or
whole numbers; a ``members`` table holds one such table per member::

    [courts]
    2022 = "120000000"
    2022Q1 = 30_000_000

    [courts.members."张三"]
    2022 = "40000000"

A CSV file has the header ``group_id,period,target_yuan`` and optionally ``member``.
Errors name the file and the key (TOML, mapping) or the line and column (CSV); all
problems of a file are raised together and no target is returned.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from keyaccount.domain import Period, ProjectGroup
from keyaccount.exceptions import (
    CsvFileNotFoundError,
    CsvHeaderError,
    CsvImportError,
    CsvRowError,
    KeyAccountError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations._targets import (
    PeriodSpan,
    Target,
    Targets,
    check_text_id,
    raise_problems,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_TARGETS_FILE_BYTES",
    "TARGET_COLUMNS",
    "read_targets",
    "targets_from_mapping",
]

MAX_TARGETS_FILE_BYTES = 16 * 2**20
"""The largest targets file read (16 MiB: some 300,000 CSV lines)."""
TARGET_COLUMNS = ("group_id", "period", "target_yuan", "member")
"""The columns of a targets CSV file; ``member`` may be left out."""
MEMBERS_KEY = "members"
"""The key of a group's table that holds its members' targets."""

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_Key = tuple[str, str | None, PeriodSpan]


def _key_path(parts: Iterable[object]) -> str:
    """A TOML-style dotted key, quoting the parts that are not bare keys."""
    return ".".join(
        str(p) if _BARE.match(str(p)) else '"' + str(p).replace('"', '\\"') + '"' for p in parts
    )


class _Known:
    """The known groups and their member names, when the caller gave them."""

    def __init__(self, groups: Iterable[ProjectGroup] | None) -> None:
        self.members: dict[str, frozenset[str]] | None = (
            None if groups is None else {g.id: frozenset(m.name for m in g.members) for g in groups}
        )

    def check(self, group_id: str, member: str | None) -> str | None:
        """Why the group or member is refused, or ``None``; ids are checked by Target."""
        if self.members is None:
            return None
        if group_id not in self.members:
            return f"unknown project group {shorten(group_id)}"
        if member is not None and member not in self.members[group_id]:
            names = ", ".join(sorted(self.members[group_id])) or "none"
            return (
                f"{shorten(member)} is not a member of project group {shorten(group_id)} "
                f"(members: {names})"
            )
        return None


def _amount_problem(value: object) -> str | None:
    if isinstance(value, bool):
        return f"a target must be an amount of yuan, not {shorten(value)}"
    if isinstance(value, float):
        return (
            f"the amount {value!r} is a float, which cannot hold most amounts exactly; "
            f"write it as text, e.g. '{value:.2f}'"
        )
    if not isinstance(value, Decimal | int | str):
        return f"a target must be an amount of yuan, not {shorten(value)}"
    return None


def _located(exc: KeyAccountError, where: str) -> Exception:
    """The same kind of error with ``where`` in front of its message."""
    try:
        return type(exc)(f"{where}: {exc}")
    except TypeError:  # an error class with another signature
        return ValidationError(f"{where}: {exc}")


def targets_from_mapping(
    data: Mapping[str, object],
    *,
    source: str = "<mapping>",
    groups: Iterable[ProjectGroup] | None = None,
) -> Targets:
    """Targets from a mapping of group id to ``{span: yuan, "members": {name: {span: yuan}}}``.

    Spans are keys such as ``"2022"``, ``"2022Q1"``, ``"2022-03"`` (or a
    :class:`Period`, a :class:`PeriodSpan`, an ``int`` year); amounts are yuan
    as ``Decimal``, ``int`` or decimal text, never ``float``.

    Args:
        data: The mapping (a parsed TOML document has this shape).
        source: Where it came from, for messages (a file name).
        groups: When given, every group must be one of them and every member
            one of its members.

    Raises:
        ValidationError: (or a subclass) a bad key, span or amount; the message
            names ``source`` and the dotted key. Several problems are raised
            together as a ``PortfolioValidationError``.
        UnknownProjectGroupError: a group that is not in ``groups``.

    Example:
        >>> ts = targets_from_mapping({"courts": {"2022Q1": "3000000", "2022-04": 1000000}})
        >>> str(ts.target("courts", "2022Q1"))
        '3000000.00'
    """
    known = _Known(groups)
    problems: list[Exception] = []
    targets: list[Target] = []
    first: dict[_Key, str] = {}

    def add(group_id: str, member: str | None, span: object, amount: object, path: str) -> None:
        where = f"{source}, key {path}"
        if isinstance(span, int) and not isinstance(span, bool):
            span = str(span)
        if not isinstance(span, str | Period | PeriodSpan):
            problems.append(ValidationError(f"{where}: not a period span: {shorten(span)}"))
            return
        reason = _amount_problem(amount)
        if reason is not None:
            problems.append(ValidationError(f"{where}: {reason}"))
            return
        try:
            target = Target(group_id, span, amount, member=member)  # type: ignore[arg-type]
        except KeyAccountError as exc:
            problems.append(_located(exc, where))
            return
        if target.key in first:
            problems.append(
                ValidationError(
                    f"{where}: the target for {shorten(group_id)}"
                    f"{'' if member is None else f', member {shorten(member)}'}, {target.span} "
                    f"is given twice (first at key {first[target.key]})"
                )
            )
            return
        first[target.key] = path
        targets.append(target)

    if not hasattr(data, "items"):
        raise ValidationError(f"{source}: targets must be a mapping, not {shorten(data)}")
    for group_id, table in data.items():
        path = _key_path([group_id])
        if not isinstance(group_id, str) or not hasattr(table, "items"):
            problems.append(
                ValidationError(
                    f"{source}, key {path}: expected a table of targets for a project group, "
                    f"got {shorten(table)}"
                )
            )
            continue
        reason = known.check(group_id, None)
        if reason is not None:
            problems.append(UnknownProjectGroupError(f"{source}, key {path}: {reason}"))
            continue
        for span, amount in table.items():
            if span != MEMBERS_KEY:
                add(group_id, None, span, amount, _key_path([group_id, span]))
                continue
            if not hasattr(amount, "items"):
                problems.append(
                    ValidationError(
                        f"{source}, key {_key_path([group_id, span])}: expected a table of "
                        f"members, got {shorten(amount)}"
                    )
                )
                continue
            for member, member_table in amount.items():
                mpath = [group_id, MEMBERS_KEY, member]
                reason = known.check(group_id, str(member))
                if not hasattr(member_table, "items") or reason is not None:
                    reason = reason or f"expected a table of targets, got {shorten(member_table)}"
                    problems.append(ValidationError(f"{source}, key {_key_path(mpath)}: {reason}"))
                    continue
                for mspan, mamount in member_table.items():
                    add(group_id, member, mspan, mamount, _key_path([*mpath, mspan]))
    raise_problems(problems, source)
    return Targets(targets)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_TARGETS_FILE_BYTES:
            raise ValidationError(
                f"{path}: {size:,} bytes is beyond the limit of {MAX_TARGETS_FILE_BYTES:,} "
                "bytes for a targets file"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise CsvFileNotFoundError(str(path), "targets file") from None
    except IsADirectoryError:
        raise ValidationError(f"{path}: is a directory, not a targets file") from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def read_targets(
    path: str | os.PathLike[str], *, groups: Iterable[ProjectGroup] | None = None
) -> Targets:
    """Read targets from a ``.toml`` or a ``.csv`` file (see the module docstring).

    Args:
        path: The file; its suffix says the format.
        groups: When given, every group must be one of them and every member
            one of its members.

    Raises:
        CsvFileNotFoundError: no such file (also for TOML; a ``FileNotFoundError``).
        ValidationError: an unknown suffix, a file beyond
            :data:`MAX_TARGETS_FILE_BYTES`, text that is not UTF-8 or not TOML,
            or a bad target (naming the key); several together as a
            ``PortfolioValidationError``.
        CsvHeaderError: a CSV header without a required column, or with an
            unknown or repeated one.
        CsvImportError: every bad CSV row, each a ``CsvRowError`` naming its
            line and column.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise ValidationError(f"{file}: a targets file ends in .toml or .csv")
    text = _decode(file, _read_bytes(file))
    if suffix == ".csv":
        return _targets_from_csv(text, str(file), _Known(groups))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{file}: not valid TOML: {exc}") from None
    return targets_from_mapping(data, source=str(file), groups=groups)


def _targets_from_csv(text: str, path: str, known: _Known) -> Targets:
    if "\r" in text.replace("\r\n", ""):
        raise CsvHeaderError(path, "bare CR line breaks; save the file with LF or CR LF")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvHeaderError(path, "the file is empty", missing=TARGET_COLUMNS[:3]) from None
    except csv.Error as exc:
        raise CsvHeaderError(path, f"not valid CSV: {exc}") from None
    names = [h.strip() for h in header]
    missing = tuple(c for c in TARGET_COLUMNS[:3] if c not in names)
    unknown = tuple(n for n in names if n not in TARGET_COLUMNS)
    duplicated = tuple(sorted({n for n in names if names.count(n) > 1}))
    if missing or unknown or duplicated:
        parts = [
            f"{label}: {', '.join(map(repr, cols))}"
            for label, cols in (
                ("missing", missing),
                ("unknown", unknown),
                ("repeated", duplicated),
            )
            if cols
        ]
        raise CsvHeaderError(
            path,
            f"{'; '.join(parts)} (columns are {', '.join(TARGET_COLUMNS)})",
            missing=missing,
            unknown=unknown,
            duplicated=duplicated,
        )
    column = {n: i for i, n in enumerate(names)}
    problems: list[Exception] = []
    targets: list[Target] = []
    first: dict[_Key, int] = {}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(CsvRowError(path, reader.line_num, None, "", f"not valid CSV: {exc}"))
            break
        line = reader.line_num
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(names):
            problems.append(
                CsvRowError(
                    path,
                    line,
                    None,
                    ",".join(row),
                    f"{len(row)} fields where the header has {len(names)}",
                )
            )
            continue
        group_id = row[column["group_id"]].strip()
        member = (row[column["member"]].strip() or None) if "member" in column else None
        try:
            check_text_id("project group id", group_id)
        except ValidationError as exc:
            problems.append(CsvRowError(path, line, "group_id", group_id, str(exc)))
            continue
        try:
            if member is not None:
                check_text_id("member name", member)
        except ValidationError as exc:
            problems.append(CsvRowError(path, line, "member", member or "", str(exc)))
            continue
        reason = known.check(group_id, member)
        if reason is not None:
            col = "member" if member is not None and "not a member" in reason else "group_id"
            problems.append(CsvRowError(path, line, col, row[column[col]], reason))
            continue
        span_text = row[column["period"]]
        try:
            span = PeriodSpan.parse(span_text.strip())
        except KeyAccountError as exc:
            problems.append(CsvRowError(path, line, "period", span_text, str(exc)))
            continue
        amount = row[column["target_yuan"]]
        try:
            target = Target(group_id, span, amount.strip(), member=member)
        except KeyAccountError as exc:
            problems.append(CsvRowError(path, line, "target_yuan", amount, str(exc)))
            continue
        if target.key in first:
            problems.append(
                CsvRowError(
                    path,
                    line,
                    "period",
                    span_text,
                    f"the target for {shorten(group_id)}"
                    f"{'' if member is None else f', member {shorten(member)}'}, {span} is "
                    f"given twice (first on line {first[target.key]})",
                )
            )
            continue
        first[target.key] = line
        targets.append(target)
    if problems:
        raise CsvImportError(path, problems)
    return Targets(targets)
