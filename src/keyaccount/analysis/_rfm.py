"""RFM summaries of raw transactions, as ``lifetimes.utils.summary_data_from_transaction_data``.

The definitions (``docs/rfm.md``), per customer, with the transactions
grouped into periods of ``freq`` (days; weeks from Monday to Sunday; calendar
months) and the observation end truncated to its period:

- transactions in a period after the observation end's period are ignored;
  a customer without a transaction left is not in the table;
- a *purchase period* is a period with at least one transaction (whatever
  the amounts: a refund counts, and so does a period summing to zero); its
  amount is the sum of its transactions;
- ``frequency`` = purchase periods - 1 (the repeat purchase periods);
- ``recency`` = start of the last purchase period - start of the first, and
  ``T`` = start of the observation end's period - start of the first, in
  units of ``freq`` (a month being 30.436875 days, numpy's and lifetimes');
- ``monetary`` = the mean amount of the repeat purchase periods, 0 when
  ``frequency`` is 0.

The work is bulk numpy: one sort of the (customer, period) keys, sums with
``np.add.reduceat``; no Python loop over transactions or customers.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import fen_to_yuan
from keyaccount.exceptions import PrecisionError, ValidationError, shorten
from keyaccount.portfolio import frames as fr
from keyaccount.rules import UserMetric
from keyaccount.utils.display import HEAD_ROWS, html_table, money

if TYPE_CHECKING:
    from decimal import Decimal

    import pandas as pd

    from keyaccount.io import Transactions
    from keyaccount.portfolio import MetricsTable, Portfolio

__all__ = ["FREQS", "MONTH_DAYS", "Lookup", "RfmRow", "RfmTable", "rfm"]

Freq = Literal["D", "W", "M"]
FREQS: tuple[str, ...] = ("D", "W", "M")
"""The period lengths :func:`rfm` knows: days, weeks (Monday to Sunday), calendar months."""
MONTH_DAYS = 30.436875
"""Days in one unit of ``freq="M"``: numpy's ``timedelta64(1, "M")``, as lifetimes divides by."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_EPOCH = dt.date(1970, 1, 1)
_UNIT_SECONDS = {"D": 86_400, "W": 7 * 86_400, "M": 2_629_746}  # numpy's timedelta64 units


def _in_units(days: I64, freq: str) -> F64:
    """Days in units of ``freq``, as lifetimes divides two timedeltas."""
    seconds = days.astype(np.float64) * 86_400.0
    result: F64 = seconds / float(_UNIT_SECONDS[freq])
    return result


_LIMIT = float(2**62)


def _end_day(value: object) -> int:
    """Days since 1970-01-01 of the observation end (a time of day is dropped)."""
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[D]").astype(np.int64))
    if isinstance(value, dt.datetime):
        return (value.date() - _EPOCH).days
    if isinstance(value, dt.date):
        return (value - _EPOCH).days
    if isinstance(value, str):
        text = value.strip()
        try:
            when = (
                dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
            )
        except ValueError:
            pass
        else:
            return _end_day(when)
    raise ValidationError(
        f"observation_end must be a date, a datetime or an ISO date such as '2023-12-31', "
        f"got {shorten(value)}"
    )


def _periods(day: npt.NDArray[Any], freq: str) -> I64:
    """The period of each day: days, Monday-based weeks, or months since 1970-01."""
    days = np.asarray(day, dtype=np.int64)
    if freq == "D":
        return days
    if freq == "W":
        return (days + 3) // 7  # 1970-01-01 is a Thursday: week 0 starts on Monday 1969-12-29
    months: I64 = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months


def _start_days(period: I64, freq: str) -> I64:
    """The first day (since 1970-01-01) of each period."""
    if freq == "D":
        return period
    if freq == "W":
        return period * 7 - 3
    starts: I64 = period.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return starts


@attrs.frozen
class RfmRow:
    """One customer's RFM values (see :func:`rfm` for the definitions).

    Attributes:
        customer_id: The customer.
        frequency: Repeat purchase periods.
        recency: Age at the last purchase, in units of ``freq``.
        T: Age at the observation end, in units of ``freq``.
        monetary: Mean amount of the repeat purchase periods, yuan rounded
            half-even to the fen (``0.00`` when ``frequency`` is 0).
        repeat_total: The exact sum of the repeat purchase periods' amounts.
    """

    customer_id: str
    frequency: int
    recency: float
    T: float
    monetary: Decimal
    repeat_total: Decimal


def _check_freq(freq: object) -> str:
    return fr.check_choice(freq, FREQS, what="freq", where="rfm")


@attrs.frozen(eq=False, repr=False)
class RfmTable:
    """RFM values of every customer with a transaction up to the observation end.

    Rows are customers in the order of the transactions' customers (first
    appearance). Money stays exact: :attr:`repeat_fen` and :attr:`total_fen`
    are integer sums; the mean :attr:`monetary_fen` is rounded half-even to
    the fen, and ``repeat_fen / frequency`` gives it unrounded.

    Attributes:
        observation_end: The observation end as given (a date).
        freq: ``"D"``, ``"W"`` or ``"M"``.
        customer_ids: The customers (``object`` array of ``str``).
        frequency: Repeat purchase periods (``int64``).
        recency: Age at the last purchase in units of ``freq`` (``float64``;
            whole numbers for ``D`` and ``W``), as lifetimes gives it.
        T: Age at the observation end in units of ``freq`` (``float64``).
        recency_days: Days from the start of the first purchase period to the
            start of the last (``int64``).
        T_days: Days from the start of the first purchase period to the start
            of the observation end's period (``int64``).
        repeat_fen: Sum of the repeat purchase periods' amounts (``int64`` fen).
        total_fen: Sum of all the customer's amounts up to the end (``int64`` fen).
    """

    observation_end: dt.date
    freq: str
    customer_ids: npt.NDArray[np.object_]
    frequency: I64
    recency: F64
    T: F64
    recency_days: I64
    T_days: I64
    repeat_fen: I64
    total_fen: I64

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def __repr__(self) -> str:
        return (
            f"<RfmTable: {len(self):,} customers, freq {self.freq!r}, "
            f"observation end {self.observation_end.isoformat()}>"
        )

    def _repr_html_(self) -> str:
        monetary = self.monetary_fen[:HEAD_ROWS]
        rows = (
            (
                self.customer_ids[i],
                int(self.frequency[i]),
                float(self.recency[i]),
                float(self.T[i]),
                money(int(monetary[i])),
                money(int(self.total_fen[i])),
            )
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("customer_id", "frequency", "recency", "T", "monetary (yuan)", "total (yuan)")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="customers")

    @property
    def monetary_fen(self) -> I64:
        """Mean amount of the repeat purchase periods in fen, rounded half-even (0 when none)."""
        f = np.maximum(self.frequency, 1)
        q, r = np.divmod(self.repeat_fen, f)  # floor division: 0 <= r < f
        up = (2 * r > f) | ((2 * r == f) & (q % 2 == 1))
        mean: I64 = np.where(self.frequency > 0, q + up, 0)
        return mean

    @property
    def days_since_last(self) -> I64:
        """Days from the start of the last purchase period to the start of the end's period."""
        days: I64 = self.T_days - self.recency_days
        return days

    def _positions(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.customer_ids.tolist())}

    def row(self, customer_id: str) -> RfmRow:
        """One customer's values.

        Raises:
            KeyError: the customer has no transaction up to the observation end.
        """
        at = self._positions().get(customer_id)
        if at is None:
            raise KeyError(customer_id)
        return RfmRow(
            customer_id,
            int(self.frequency[at]),
            float(self.recency[at]),
            float(self.T[at]),
            fen_to_yuan(int(self.monetary_fen[at])),
            fen_to_yuan(int(self.repeat_fen[at])),
        )

    def _frame(self) -> fr.Frame:
        return fr.Frame(
            (
                fr.text("customer_id", self.customer_ids),
                fr.integer("frequency", self.frequency),
                fr.ratio("recency", self.recency),
                fr.ratio("T", self.T),
                fr.money("monetary", self.monetary_fen),
                fr.money("repeat_total", self.repeat_fen),
                fr.money("total", self.total_fen),
                fr.integer("recency_days", self.recency_days),
                fr.integer("T_days", self.T_days),
            ),
            {"observation_end": self.observation_end.isoformat(), "freq": self.freq},
        )

    def to_pandas(self) -> pd.DataFrame:
        """One row per customer (needs the ``pandas`` extra; columns in ``docs/rfm.md``)."""
        return self._frame().to_pandas()

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` (needs the ``arrow`` extra)."""
        return self._frame().to_arrow()

    def as_metrics(self) -> tuple[UserMetric, ...]:
        """The RFM values as user metrics for policies (``docs/rfm.md``).

        ``rfm_frequency`` (count), ``rfm_recency_days`` (count: days since the
        last purchase period, :attr:`days_since_last`), ``rfm_age_days``
        (count: :attr:`T_days`) and ``rfm_monetary`` (money: :attr:`monetary_fen`,
        compared with yuan in rules). A customer of the portfolio that is not
        in the table has them absent. The values are the table's, whatever
        month a policy is evaluated as of.

        Example:
            >>> from keyaccount.rules import MetricRegistry
            >>> registry = MetricRegistry().with_metrics(table.as_metrics())  # doctest: +SKIP
        """
        columns = {
            "rfm_frequency": ("count", self.frequency, "repeat purchase periods (RFM frequency)"),
            "rfm_recency_days": (
                "count",
                self.days_since_last,
                "days from the last purchase period to the observation end's",
            ),
            "rfm_age_days": (
                "count",
                self.T_days,
                "days from the first purchase period to the observation end's",
            ),
            "rfm_monetary": (
                "money",
                self.monetary_fen,
                "mean amount of the repeat purchase periods (RFM monetary)",
            ),
        }
        ids = self.customer_ids
        return tuple(
            UserMetric(name, kind, Lookup(ids, values), description)
            for name, (kind, values, description) in columns.items()
        )


@attrs.frozen(eq=False)
class Lookup:
    """A user metric's function: one table's values for the rows of a metrics table."""

    ids: npt.NDArray[np.object_]
    values: npt.NDArray[Any]

    def __call__(
        self, table: MetricsTable, portfolio: Portfolio | None
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
        positions = {cid: i for i, cid in enumerate(self.ids.tolist())}
        at = np.fromiter(
            (positions.get(cid, -1) for cid in table.customer_ids.tolist()),
            dtype=np.int64,
            count=len(table),
        )
        absent = at < 0
        values = self.values[np.maximum(at, 0)] if self.values.shape[0] else np.zeros(len(at))
        return np.where(absent, 0, values).astype(self.values.dtype), absent


def rfm(
    transactions: Transactions,
    observation_end: dt.date | dt.datetime | str | np.datetime64,
    *,
    freq: Freq = "D",
) -> RfmTable:
    """The RFM summary of ``transactions`` at ``observation_end``, as lifetimes computes it.

    The numbers are those of ``lifetimes.utils.summary_data_from_transaction_data(
    df, "customer_id", "date", "amount", observation_period_end=observation_end,
    freq=freq)`` (lifetimes 0.11.3), with money kept exact:

    - the transactions and the observation end are put in periods of ``freq``;
      periods after the end's period are ignored (so, with ``freq="M"`` and an
      end on the 15th, the rest of that month counts);
    - a purchase period is a period with a transaction; its amount is their sum;
    - ``frequency`` = purchase periods - 1; ``recency`` = last - first purchase
      period; ``T`` = end's period - first purchase period (in units of
      ``freq``; a month is :data:`MONTH_DAYS` days, between the months' first days);
    - ``monetary`` = mean amount of the repeat purchase periods (0 without any).

    Customers whose first transaction is after the end's period are left out.

    Args:
        transactions: Raw transactions (:func:`~keyaccount.io.read_transactions_csv`,
            :func:`~keyaccount.io.transactions_from_frame`).
        observation_end: The end of the observation, required (a date, a
            datetime, ``numpy.datetime64`` or an ISO date ``"2023-12-31"``).
        freq: ``"D"`` (days), ``"W"`` (weeks, Monday to Sunday) or ``"M"``
            (calendar months).

    Returns:
        The table, one row per customer.

    Raises:
        ValidationError: an unknown ``freq`` or an observation end that is not a date.
        PrecisionError: a customer whose absolute amounts add up beyond 2**62 fen.

    Example:
        >>> import pandas as pd
        >>> from keyaccount.io import transactions_from_frame
        >>> tx = transactions_from_frame(pd.DataFrame({
        ...     "customer_id": ["A", "A", "A", "B"],
        ...     "date": ["2023-01-01", "2023-01-01", "2023-01-20", "2023-01-05"],
        ...     "amount": ["10", "5", "30.50", "8"]}))
        >>> t = rfm(tx, "2023-01-31")
        >>> t.frequency.tolist(), t.recency.tolist(), t.T.tolist(), t.row("A").monetary
        ([1, 0], [19.0, 0.0], [30.0, 26.0], Decimal('30.50'))
    """
    unit = _check_freq(freq)
    end_day = _end_day(observation_end)
    end = dt.date.fromordinal(_EPOCH.toordinal() + end_day)
    end_period = int(_periods(np.array([end_day]), unit)[0])
    period = _periods(transactions.day, unit)
    keep = period <= end_period
    customer = transactions.customer.astype(np.int64)
    fen = transactions.fen
    if not keep.all():
        customer, period, fen = customer[keep], period[keep], fen[keep]
    if not customer.shape[0]:
        empty = np.empty(0, np.int64)
        return _table(end, unit, np.empty(0, dtype=object), empty, empty, empty, empty, empty)
    low = int(period.min())
    span = end_period - low + 1
    key, order = _sorted(customer * span + (period - low))
    fen = fen[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    pair_key = key[starts]
    pair_fen = np.add.reduceat(fen, starts)
    pair_customer, pair_period = np.divmod(pair_key, span)
    pair_period += low
    heads = np.flatnonzero(np.concatenate(([True], pair_customer[1:] != pair_customer[:-1])))
    ends = np.append(heads[1:], pair_key.shape[0]) - 1
    absolute = np.add.reduceat(np.abs(fen).astype(np.float64), starts)
    checked = np.add.reduceat(absolute, heads)
    if (checked >= _LIMIT).any():
        i = int(np.flatnonzero(checked >= _LIMIT)[0])
        cid = transactions.customer_ids[pair_customer[heads[i]]]
        raise PrecisionError(
            f"customer {cid!r}: the absolute amounts of its transactions add up beyond "
            "2**62 fen; RFM sums would not be exact"
        )
    total = np.add.reduceat(pair_fen, heads)
    first_start = _start_days(pair_period[heads], unit)
    last_start = _start_days(pair_period[ends], unit)
    end_start = int(_start_days(np.array([end_period]), unit)[0])
    return _table(
        end,
        unit,
        transactions.customer_ids[pair_customer[heads]],
        (ends - heads).astype(np.int64),
        last_start - first_start,
        end_start - first_start,
        total - pair_fen[heads],
        total,
    )


def _sorted(key: I64) -> tuple[I64, I64]:
    """``key`` sorted and the order that sorts it.

    When the keys and the row numbers fit in 62 bits together, one ``np.sort``
    of the keys with the row number in their low bits: faster than ``argsort``.
    """
    n = key.shape[0]
    row_bits = max(n - 1, 1).bit_length()
    if int(key.max()).bit_length() + row_bits > 62:
        order: I64 = np.argsort(key)
        return key[order], order
    packed = np.sort((key << row_bits) | np.arange(n, dtype=np.int64))
    return packed >> row_bits, packed & ((1 << row_bits) - 1)


def _table(
    end: dt.date,
    freq: str,
    ids: npt.NDArray[np.object_],
    frequency: I64,
    recency_days: I64,
    t_days: I64,
    repeat_fen: I64,
    total_fen: I64,
) -> RfmTable:
    customer_ids = np.empty(ids.shape[0], dtype=object)
    customer_ids[:] = ids
    return RfmTable(
        end,
        freq,
        customer_ids,
        frequency,
        _in_units(recency_days, freq),
        _in_units(t_days, freq),
        recency_days,
        t_days,
        repeat_fen,
        total_fen,
    )
