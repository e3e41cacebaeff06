"""The operations room in the store: every value round-trips, bad input writes nothing.

Each test runs on SQLite and on a real PostgreSQL server (``store`` fixture). The
in-memory room (``keyaccount.operations``) is the oracle: what the store reads back
equals what the room builds from the same input.
"""

from __future__ import annotations

import doctest
import importlib
import sqlite3
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, ProjectGroup
from keyaccount.demo import demo_operations, generate
from keyaccount.domain import Level, Member, Severity
from keyaccount.exceptions import (
    IllegalMoveError,
    InvalidMoneyError,
    PayoutSchemeError,
    SchemaVersionError,
    UnknownCustomerError,
    UnknownItemError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.operations import (
    EscalationPolicy,
    KpiObservation,
    MemberScore,
    Ownership,
    OwnershipMove,
    PayoutScheme,
    SubjectAttributes,
    SupervisionItem,
    SupervisionList,
    Target,
    compute_payouts,
    default_kpi_thresholds,
    default_payout_scheme,
    detect_kpi_breaches,
)
from keyaccount.store import SCHEMA_VERSION, OperationsStore, Store
from keyaccount.store._operations_supervision import ITEM_FIELDS, ITEM_STORE_ONLY
from keyaccount.store._tables import supervision_item_table

if TYPE_CHECKING:
    from pathlib import Path

TEAM = (
    Member("Li Ming", "PROJECT_MANAGER"),
    Member("Wang Fang", "ACCOUNT_MANAGER"),
    Member("Chen Jing", "BUSINESS_DEVELOPMENT"),
    Member("Liu Yang", "OPERATIONS_OPTIMISATION"),
)


def portfolio() -> Portfolio:
    """Three customers in two provinces, two project groups (courts with a team)."""
    return Portfolio(
        [
            Customer(
                "C1", "江苏省高院", "2021-01", segment="JUDICIAL", province="江苏", tier="STRATEGIC"
            ),
            Customer("C2", "某金融公司", "2021-01", segment="FINANCE", province="广东"),
            Customer("C3", "某中院", "2021-06", segment="JUDICIAL", province="广东"),
        ],
        project_groups=[
            ProjectGroup("courts", "Courts", "法院项目组", members=TEAM, customer_ids=["C1", "C2"]),
            ProjectGroup("banks", "Banks", "银行项目组", customer_ids=["C3"]),
        ],
    )


@pytest.fixture
def ops(store: Store) -> OperationsStore:
    """The operations of a store holding :func:`portfolio`."""
    store.save(portfolio())
    return store.operations


def count(store_ops: OperationsStore, table: str) -> int:
    """Rows of ``table`` in the store behind ``store_ops``."""
    with store_ops._engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())


# ---------------------------------------------------------------- ownership and targets


def test_ownership_moves_read_back_as_the_same_ownership(ops: OperationsStore) -> None:
    """Moves recorded in two batches read back equal to the in-memory Ownership of them."""
    start = Ownership.from_portfolio(portfolio(), "2021-03", actor="hq", reason="groups formed")
    later = [
        OwnershipMove("C2", "banks", "2022-07", "张三", "card letters"),
        OwnershipMove("C3", None, "2023-01", "hq"),
    ]
    assert ops.record_moves(start) == 3
    assert ops.record_moves(later) == 2
    back = ops.ownership()
    assert back == start.add(later)
    assert back.owner("C2", "2022-06") == "courts"
    assert back.owner("C2", "2022-07") == "banks"
    assert back.owner("C3", "2023-02") is None


def test_a_duplicate_move_refuses_the_whole_batch(ops: OperationsStore) -> None:
    """A second move of a customer in a stored month fails the batch; nothing of it is written."""
    ops.record_moves([OwnershipMove("C1", "courts", "2021-03", "hq")])
    with pytest.raises(ValidationError, match=r"'C1' already has a move in 2021-03"):
        ops.record_moves(
            [
                OwnershipMove("C2", "courts", "2021-03", "hq"),
                OwnershipMove("C1", "banks", "2021-03", "hq"),
            ]
        )
    assert len(ops.ownership()) == 1


@pytest.mark.parametrize(
    ("move", "error"),
    [
        (OwnershipMove("NOPE", "courts", "2021-03", "hq"), UnknownCustomerError),
        (OwnershipMove("C1", "nowhere", "2021-03", "hq"), UnknownProjectGroupError),
    ],
)
def test_a_move_of_an_unknown_customer_or_group_writes_nothing(
    ops: OperationsStore, move: OwnershipMove, error: type[Exception]
) -> None:
    """A move naming a customer or group the store lacks is refused with the room's error."""
    with pytest.raises(error):
        ops.record_moves([OwnershipMove("C2", "courts", "2021-03", "hq"), move])
    assert count(ops, "ka_ownership_move") == 0


def test_targets_read_back_equal_and_roll_up(ops: OperationsStore) -> None:
    """Group and member targets read back equal; a quarter without a target sums its months."""
    given = [Target("courts", f"2022-{m:02d}", "100000.50") for m in range(1, 4)]
    given += [
        Target("courts", "2022", "1200000"),
        Target("courts", "2022Q2", "0", member="Li Ming"),
    ]
    assert ops.put_targets(given) == 5
    back = ops.targets()
    assert set(back) == set(given)
    assert back.target_fen("courts", "2022Q1") == 3 * 10_000_050
    assert back.target("courts", "2022Q2", member="Li Ming") == Decimal("0.00")


@pytest.mark.parametrize(
    ("target", "error", "text"),
    [
        (Target("nowhere", "2022", "1"), UnknownProjectGroupError, "nowhere"),
        (Target("courts", "2022", "1", member="Somebody"), ValidationError, "not a member"),
        (Target("courts", "2021", "5"), ValidationError, "already stored"),
    ],
)
def test_bad_targets_write_nothing(
    ops: OperationsStore, target: Target, error: type[Exception], text: str
) -> None:
    """An unknown group, a non-member or a stored key fails the whole batch."""
    ops.put_targets([Target("courts", "2021", "5")])
    with pytest.raises(error, match=text):
        ops.put_targets([Target("courts", "2023", "7"), target])
    assert len(ops.targets()) == 1


def test_a_negative_target_is_refused_before_and_by_the_database(ops: OperationsStore) -> None:
    """The room refuses a negative target; a row written around it breaks the table's check."""
    with pytest.raises(InvalidMoneyError, match="negative"):
        ops.put_targets([Target("courts", "2022", "-0.01")])
    with pytest.raises(sa.exc.IntegrityError), ops._engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ka_target (group_key, member, span_kind, span_start, target_fen) "
            "VALUES (0, '', 'YEAR', 24264, -1)"
        )
    assert len(ops.targets()) == 0


def test_scores_and_teams_come_back_for_payouts(ops: OperationsStore) -> None:
    """Stored scores read back exactly; teams are the stored project-group members."""
    given = [
        MemberScore("courts", 2022, "Wang Fang", Decimal("90.5")),
        MemberScore("courts", 2022, "Chen Jing", Decimal(80)),
        MemberScore("courts", 2023, "Liu Yang", Decimal(0)),
    ]
    assert ops.put_scores(given) == 3
    assert set(ops.scores()) == set(given)
    assert set(ops.scores(2022)) == set(given[:2])
    assert ops.teams()["courts"] == TEAM
    with pytest.raises(ValidationError, match="not a member"):
        ops.put_scores([MemberScore("courts", 2024, "Nobody", Decimal(1))])
    with pytest.raises(ValidationError, match="already stored"):
        ops.put_scores([MemberScore("courts", 2024, "Wang Fang", Decimal(1)), given[0]])
    assert ops.scores(2024) == ()


def test_demo_operations_data_round_trips(store: Store) -> None:
    """The demo's OperationsData saved in one call reads back equal; a second save is refused."""
    pf = generate(seed=3, customers=300, months=24)
    data = demo_operations(pf, seed=3)
    store.save(pf)
    ops = store.operations
    assert ops.is_empty()
    ops.save_data(data)
    assert not ops.is_empty()
    assert store.operations.policy == data.escalation_policy  # stored with the data
    back = store.operations.data(data.as_of, kpi_thresholds=data.kpi_thresholds)
    assert back == data
    with pytest.raises(ValidationError, match="holds operations data already"):
        ops.save_data(data)


def test_the_escalation_policy_is_stored_and_used_by_every_operations_object(
    store: Store,
) -> None:
    """A saved policy is read by later OperationsStores: opening and sweeping use its days."""
    store.save(portfolio())
    assert store.operations.policy == EscalationPolicy()
    policy = EscalationPolicy(
        days_per_level={Level.CITY: 3, Level.PROVINCE: 10, Level.HEADQUARTERS: 20},
        order_escalations=2,
        order_window_days=14,
    )
    store.operations.save_policy(policy)
    ops = store.operations
    assert ops.policy == policy
    item = ops.open(
        "late receipts",
        subject_id="C1",
        department="SERVICE",
        responsible_person="Li",
        who="Wang",
        on="2024-03-01",
    )
    assert str(item.due_on) == "2024-03-04"
    assert ops.sweep("2024-03-05", who="sweep").escalated == 1
    assert str(ops.item(item.id).due_on) == "2024-03-15"
    explicit = EscalationPolicy(days_per_level={Level.CITY: 1})
    assert store.operations.with_policy(explicit).policy == explicit
    with pytest.raises(ValidationError):
        store.operations.save_policy("7 days")  # type: ignore[arg-type]
    assert store.operations.policy == policy


# ---------------------------------------------------------------- payouts


def test_a_scheme_is_stored_once_per_name_and_version(ops: OperationsStore) -> None:
    """The same terms again change nothing; other terms under the same version are refused."""
    scheme = default_payout_scheme()
    ops.save_scheme(scheme)
    ops.save_scheme(scheme)
    other = PayoutScheme(
        scheme.name, scheme.version, rate="0.2", pm_share="0.5", role_weights={"ACCOUNT_MANAGER": 1}
    )
    with pytest.raises(PayoutSchemeError, match="already stored with other terms"):
        ops.save_scheme(other)
    assert ops.scheme(scheme.name) == scheme
    newer = PayoutScheme(
        scheme.name,
        scheme.version + 1,
        rate="0.2",
        pm_share="0.5",
        role_weights={"ACCOUNT_MANAGER": 1},
    )
    ops.save_scheme(newer)
    assert ops.scheme(scheme.name) == newer
    assert ops.scheme(scheme.name, scheme.version) == scheme
    with pytest.raises(PayoutSchemeError, match="no payout scheme 'x'"):
        ops.scheme("x")


def test_stored_payouts_read_back_and_recompute_to_the_same_fen(ops: OperationsStore) -> None:
    """A run stored with its scheme reads back equal, and recomputing it gives the same fen."""
    scheme = default_payout_scheme()
    scores: dict[str, dict[str, Decimal | int | str]] = {
        "courts": {"Wang Fang": 90, "Chen Jing": 90, "Liu Yang": "77.5"}
    }
    run = compute_payouts(
        scheme, "2022", {"courts": ("11000000.07", "10000000")}, {"courts": TEAM}, scores=scores
    )
    ops.record_payouts(run, scheme=scheme)
    assert ops.payouts("2022") == run
    assert ops.recompute_payouts("2022") == run
    assert ops.payout_periods() == ("2022",)
    assert ops.payouts("2021") is None
    with pytest.raises(ValidationError, match="already stored"):
        ops.record_payouts(run)


def test_a_run_that_does_not_follow_its_scheme_is_refused(ops: OperationsStore) -> None:
    """A run whose shares were altered (still summing to the pool) is refused; nothing written."""
    scheme = default_payout_scheme()
    run = compute_payouts(scheme, "2022", {"courts": ("12000000", "10000000")}, {"courts": TEAM})
    payout = run["courts"]
    shares = list(payout.shares)
    shares[0] = attrs.evolve(shares[0], fen=shares[0].fen - 1)
    shares[1] = attrs.evolve(shares[1], fen=shares[1].fen + 1)
    altered = attrs.evolve(run, payouts=(attrs.evolve(payout, shares=tuple(shares)),))
    with pytest.raises(ValidationError, match="do not follow scheme"):
        ops.record_payouts(altered, scheme=scheme)
    with pytest.raises(PayoutSchemeError, match="no payout scheme"):
        ops.record_payouts(run)  # the refused call stored no scheme either
    assert count(ops, "ka_payout_run") == 0


@given(
    excess=st.integers(min_value=-(10**9), max_value=10**13),
    target=st.integers(min_value=1, max_value=10**12),
    scores=st.lists(st.decimals(min_value=0, max_value=1000, places=2), min_size=3, max_size=3),
    pm_share=st.decimals(min_value=Decimal("0.40"), max_value=1, places=3),
)
def test_recomputing_any_stored_period_gives_the_same_fen(
    sql_store: Store, excess: int, target: int, scores: list[Decimal], pm_share: Decimal
) -> None:
    """For generated figures, scores and schemes, the stored run recomputes to equal fen."""
    if sql_store.is_empty():
        sql_store.save(portfolio())
    ops = sql_store.operations
    n = len(ops.payout_periods())
    scheme = PayoutScheme(
        f"s{n}",
        brackets=[(0, 1_000_000, "0.10"), (1_000_000, None, "0.15")],
        pm_share=pm_share,
        role_weights={
            "ACCOUNT_MANAGER": 2,
            "BUSINESS_DEVELOPMENT": 1,
            "OPERATIONS_OPTIMISATION": 1,
        },
        cap="5000000",
    )
    members = {"Wang Fang": scores[0], "Chen Jing": scores[1], "Liu Yang": scores[2]}
    figures = {"courts": (Decimal(target + excess) / 100, Decimal(target) / 100)}
    run = compute_payouts(scheme, f"P{n}", figures, {"courts": TEAM}, scores={"courts": members})
    ops.record_payouts(run, scheme=scheme)
    again = ops.recompute_payouts(f"P{n}")
    assert [s.fen for s in again["courts"].shares] == [s.fen for s in run["courts"].shares]
    assert ops.payouts(f"P{n}") == run


# ---------------------------------------------------------------- KPIs


def test_kpi_observations_read_back_equal(ops: OperationsStore) -> None:
    """Customer and group observations read back with the same counts, in order."""
    given = [
        KpiObservation("C1", "receipt_return_rate", "2022-11", 19, 20),
        KpiObservation("C2", "on_time_delivery_rate", "2022-11", 0, 0),
        KpiObservation("courts", "receipt_signing_rate", "2022-12", 5, 9, subject_kind="GROUP"),
    ]
    assert ops.add_kpi_observations(given) == 3
    back = ops.kpi_observations()
    assert list(back.records()) == given
    assert list(ops.kpi_observations(start="2022-12").records()) == given[2:]
    assert list(ops.kpi_observations(subject_kind="CUSTOMER").records()) == given[:2]


@pytest.mark.parametrize(
    ("bad", "error", "text"),
    [
        (
            KpiObservation("C1", "receipt_return_rate", "2022-10", 21, 20),
            ValidationError,
            "21 > denominator 20",
        ),
        (
            KpiObservation("NOPE", "receipt_return_rate", "2022-10", 1, 2),
            UnknownCustomerError,
            "NOPE",
        ),
        (
            KpiObservation("nowhere", "receipt_return_rate", "2022-10", 1, 2, subject_kind="GROUP"),
            UnknownProjectGroupError,
            "nowhere",
        ),
        (
            KpiObservation("C1", "receipt_return_rate", "2022-11", 1, 2),
            ValidationError,
            "already stored",
        ),
    ],
)
def test_bad_kpi_observations_write_nothing(
    ops: OperationsStore, bad: KpiObservation, error: type[Exception], text: str
) -> None:
    """Numerator > denominator, an unknown subject or a stored key fails the whole batch."""
    ops.add_kpi_observations([KpiObservation("C1", "receipt_return_rate", "2022-11", 19, 20)])
    with pytest.raises(error, match=text):
        ops.add_kpi_observations(
            [KpiObservation("C2", "receipt_return_rate", "2022-10", 1, 1), bad]
        )
    assert len(ops.kpi_observations()) == 1


def test_the_kpi_table_refuses_negative_counts(ops: OperationsStore) -> None:
    """The table's check backs the room's: a negative count written around it is refused."""
    with pytest.raises(sa.exc.IntegrityError), ops._engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ka_kpi_observation (subject_kind, subject_id, kpi_id, period, numerator, "
            "denominator) VALUES ('CUSTOMER', 'C1', 'receipt_return_rate', 24264, -1, 5)"
        )


def test_a_kpi_breach_opens_one_item_once(ops: OperationsStore) -> None:
    """Breaches found from stored observations open one item each; checking again opens none."""
    pf = portfolio()
    ops.add_kpi_observations(
        [
            KpiObservation("C1", "receipt_return_rate", "2022-11", 96, 100),  # SVIP: breaches 0.98
            KpiObservation("C3", "receipt_return_rate", "2022-11", 96, 100),  # judicial: 0.95 holds
        ]
    )
    breaches = detect_kpi_breaches(
        ops.kpi_observations(), default_kpi_thresholds(), SubjectAttributes.from_portfolio(pf)
    )
    first = ops.open_breach_items(
        breaches, who="kpi-check", on="2022-12-01", responsible_person="Li"
    )
    again = ops.open_breach_items(
        breaches, who="kpi-check", on="2022-12-02", responsible_person="Li"
    )
    assert [i.subject_id for i in first] == ["C1"]
    assert first[0].owner is None
    assert first[0].province == "江苏"
    assert again == ()
    assert ops.items() == first


# ---------------------------------------------------------------- the supervision list


def run_script(target: OperationsStore | SupervisionList) -> None:
    """The same operations on the store or on an in-memory list (the oracle)."""
    target.open(
        "receipts late",
        subject_id="C1",
        department="SERVICE",
        responsible_person="Li",
        who="Wang",
        on="2024-03-01",
        province="江苏",
    )
    target.open(
        "route",
        subject_id="courts",
        subject_kind="GROUP",
        department="OPERATIONS",
        responsible_person="Zhao",
        who="Zhao",
        on="2024-03-02",
        severity="SEVERE",
    )
    target.open(
        "kpi",
        subject_id="C3",
        department="SERVICE",
        responsible_person="Li",
        who="check",
        on="2024-03-02",
        province="广东",
        received=False,
        source_key="k1",
    )
    target.open(
        "kpi again",
        subject_id="C3",
        department="SERVICE",
        responsible_person="Li",
        who="check",
        on="2024-03-03",
        source_key="k1",
    )
    target.open(
        "chosen id",
        subject_id="C2",
        department="IT",
        responsible_person="Sun",
        who="Sun",
        on="2024-03-02",
        item_id="IT-7",
        province="广东",
    )
    target.dispatch(
        "mail backlog",
        provinces={"广东": "Ma", "江苏": "Qian"},
        subject_id="C2",
        department="OPERATIONS",
        who="HQ",
        on="2024-03-04",
    )
    target.receive("SV-000003", who="Zhou", on="2024-03-04")
    target.receive("SV-000003", who="Wu", on="2024-03-05")
    target.hand_over("SV-000003", "Wu", who="Zhou", on="2024-03-05")
    target.set_severity("SV-000005", Severity.SEVERE, who="HQ", on="2024-03-05")
    for day in ("2024-03-09", "2024-03-09", "2024-03-10", "2024-03-20", "2024-03-28"):
        target.sweep(day, who="sweep")
    target.issue_supervision_orders("2024-03-28", who="HQ")
    target.issue_supervision_orders("2024-03-28", who="HQ")
    target.close_out("SV-000001", "courier route changed", who="Li", on="2024-03-29")


def test_store_operations_equal_the_in_memory_list(ops: OperationsStore) -> None:
    """The same operations give the same items, ids, history rows and orders as in memory."""
    memory = SupervisionList.from_portfolio(portfolio())
    run_script(memory)
    run_script(ops)
    back = ops.supervision()
    assert back.items == memory.items
    assert back.history == memory.history
    assert back.dispatch_orders == memory.dispatch_orders
    assert back.supervision_orders == memory.supervision_orders
    assert len(back.supervision_orders) == 2  # both provinces escalated three times
    assert ops.history("SV-000003") == memory.history_of("SV-000003")
    assert ops.items(open_only=True) == memory.open_items()
    assert ops.items(overdue_on="2024-04-30") == memory.overdue_items("2024-04-30")
    assert ops.history(since=len(memory.history) - 2) == memory.history[-2:]


def test_a_saved_list_reads_back_equal(ops: OperationsStore) -> None:
    """An in-memory list saved whole reads back equal; a second save is refused."""
    memory = SupervisionList.from_portfolio(portfolio())
    run_script(memory)
    assert ops.save_supervision(memory) == len(memory)
    back = ops.supervision()
    assert (back.items, back.history) == (memory.items, memory.history)
    assert (back.dispatch_orders, back.supervision_orders) == (
        memory.dispatch_orders,
        memory.supervision_orders,
    )
    with pytest.raises(ValidationError, match="holds a supervision list already"):
        ops.save_supervision(memory)


@pytest.mark.parametrize(
    ("kind", "subject", "error"),
    [("CUSTOMER", "NOPE", UnknownCustomerError), ("GROUP", "nowhere", UnknownProjectGroupError)],
)
def test_an_item_for_an_unknown_subject_writes_nothing(
    ops: OperationsStore, kind: str, subject: str, error: type[Exception]
) -> None:
    """Opening or dispatching for a customer or group the store lacks is refused."""
    with pytest.raises(error, match=subject):
        ops.open(
            "x",
            subject_id=subject,
            subject_kind=kind,
            department="IT",
            responsible_person="A",
            who="A",
            on="2024-01-01",
        )
    with pytest.raises(error, match=subject):
        ops.dispatch(
            "x",
            provinces={"广东": "A"},
            subject_id=subject,
            subject_kind=kind,
            department="IT",
            who="HQ",
            on="2024-01-01",
        )
    assert count(ops, "ka_supervision_item") == count(ops, "ka_item_history") == 0
    assert count(ops, "ka_dispatch_order") == 0


def test_refused_operations_leave_items_and_history_as_they_were(ops: OperationsStore) -> None:
    """A non-owner's hand-over, a second close-out, an unknown item or a taken id change nothing."""
    item = ops.open(
        "x", subject_id="C1", department="IT", responsible_person="A", who="Owner", on="2024-01-01"
    )
    ops.close_out(item.id, "done", who="A", on="2024-01-02")
    before = (ops.items(), ops.history())
    with pytest.raises(IllegalMoveError, match="CLOSED"):
        ops.close_out(item.id, "again", who="A", on="2024-01-03")
    with pytest.raises(ValidationError, match="closed out"):
        ops.hand_over(item.id, "B", who="Owner", on="2024-01-03")
    with pytest.raises(UnknownItemError):
        ops.receive("SV-999999", who="A", on="2024-01-03")
    with pytest.raises(ValidationError, match="already taken"):
        ops.open(
            "y",
            subject_id="C1",
            department="IT",
            responsible_person="A",
            who="A",
            on="2024-01-03",
            item_id=item.id,
        )
    other = ops.open(
        "z", subject_id="C1", department="IT", responsible_person="A", who="Owner", on="2024-01-03"
    )
    after_open = (ops.items(), ops.history())
    with pytest.raises(ValidationError, match="only the owner"):
        ops.hand_over(other.id, "B", who="Intruder", on="2024-01-04")
    assert (ops.items(), ops.history()) == after_open
    assert after_open[0][:1] == before[0]
    assert after_open[1][: len(before[1])] == before[1]


def test_opening_again_with_a_source_key_returns_the_stored_item(ops: OperationsStore) -> None:
    """A second open with the same source key (and id) returns the stored item, writes nothing."""
    first = ops.open(
        "kpi",
        subject_id="C1",
        department="SERVICE",
        responsible_person="Li",
        who="check",
        on="2024-03-01",
        source_key="kpi-breach:x",
        item_id="K-1",
        received=False,
    )
    again = ops.open(
        "kpi",
        subject_id="C1",
        department="SERVICE",
        responsible_person="Li",
        who="check",
        on="2024-03-02",
        source_key="kpi-breach:x",
        item_id="K-1",
        received=False,
    )
    assert again == first
    assert ops.items() == (first,)
    assert len(ops.history()) == 1


def test_item_fields_and_columns_correspond() -> None:
    """Every SupervisionItem field has a column, every column a field or a store-only role."""
    fields = {a.name for a in attrs.fields(SupervisionItem)}
    columns = {c.name for c in supervision_item_table.columns}
    assert set(ITEM_FIELDS) == fields
    assert set(ITEM_FIELDS.values()) | ITEM_STORE_ONLY == columns


# ---------------------------------------------------------------- lifecycles


def test_lifecycle_moves_persist_and_illegal_moves_write_nothing(ops: OperationsStore) -> None:
    """Moves append and read back; a skipped stage raises naming both stages."""
    ops.move_stage("court-ems", "PLAN", who="Li", on="2024-01-05")
    moved = ops.move_stage("court-ems", "EXECUTE", who="Li", on="2024-02-01")
    with pytest.raises(IllegalMoveError, match="from EXECUTE to REVIEW"):
        ops.move_stage("court-ems", "REVIEW", who="Li", on="2024-03-01")
    assert ops.lifecycle("court-ems") == moved
    assert ops.lifecycle("other").stage.name == "START"
    assert ops.lifecycles() == (moved,)


# ---------------------------------------------------------------- the schema version


V1_TABLES = (
    "ka_schema",
    "ka_customer",
    "ka_product",
    "ka_revenue",
    "ka_project_group",
    "ka_project_member",
    "ka_project_customer",
    "ka_change",
)
"""The tables of schema version 1 (the store before the operations room)."""


def make_version_1(url: str) -> None:
    """Turn the store at ``url`` into what schema version 1 wrote: its tables only, version 1."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = set(sa.inspect(conn).get_table_names())
        for name in reversed([t for t in names if t.startswith("ka_") and t not in V1_TABLES]):
            conn.exec_driver_sql(
                f"DROP TABLE {name}" + (" CASCADE" if conn.dialect.name == "postgresql" else "")
            )
        conn.exec_driver_sql("UPDATE ka_schema SET version = 1")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == set(V1_TABLES)
    engine.dispose()


def schema_of(url: str) -> dict[str, object]:
    """Every ka_ table's columns, keys, indexes and checks, as the database reports them."""
    engine = sa.create_engine(url)
    out: dict[str, object] = {}
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name in sorted(inspector.get_table_names()):
            out[name] = (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                inspector.get_pk_constraint(name),
                sorted(map(repr, inspector.get_foreign_keys(name))),
                sorted(map(repr, inspector.get_indexes(name))),
                sorted(map(repr, inspector.get_unique_constraints(name))),
                sorted(map(repr, inspector.get_check_constraints(name))),
            )
        out["version"] = conn.exec_driver_sql("SELECT version FROM ka_schema").all()
        out["revision"] = conn.exec_driver_sql("SELECT version_num FROM ka_alembic_version").all()
    engine.dispose()
    return out


def test_a_version_1_store_is_upgraded_and_keeps_its_data(store_url: str) -> None:
    """A version 1 store is refused until upgraded; then it keeps its data, gains operations."""
    with Store(store_url) as store:
        store.save(portfolio())
    make_version_1(store_url)
    with pytest.raises(SchemaVersionError, match="keyaccount db upgrade"):
        Store(store_url, create=False)
    assert Store.upgrade(store_url).upgraded
    with Store(store_url, create=False) as store:
        assert store.load().customer_ids == portfolio().customer_ids
        store.operations.record_moves(Ownership.from_portfolio(portfolio(), "2021-03", actor="hq"))
        store.operations.open(
            "x", subject_id="C1", department="IT", responsible_person="A", who="A", on="2024-01-01"
        )
        assert len(store.operations.ownership()) == 3
    with Store(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        assert len(store.operations.items()) == 1


def test_an_upgraded_store_has_the_schema_of_a_new_one(store_url: str) -> None:
    """Upgrading version 1 gives the same tables, columns, keys, indexes and checks as creating."""
    Store(store_url).close()
    fresh = schema_of(store_url)
    make_version_1(store_url)
    Store.upgrade(store_url)
    assert schema_of(store_url) == fresh
    assert fresh["version"] == [(SCHEMA_VERSION,)]
    assert fresh["revision"] == [("0002",)]


def test_a_store_newer_than_the_library_is_refused_untouched(tmp_path: Path) -> None:
    """A store of a version above the library's raises SchemaVersionError and stays as it was."""
    path = tmp_path / "newer.db"
    Store(path).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE ka_schema SET version = ?", (SCHEMA_VERSION + 1,))
    con.close()
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError) as caught:
        Store(path)
    assert caught.value.found == SCHEMA_VERSION + 1
    assert path.read_bytes() == before


def test_a_failed_upgrade_leaves_the_version_1_store_as_it_was(store_url: str) -> None:
    """An upgrade that fails part-way (a table of the new version in the way) changes nothing."""
    with Store(store_url) as store:
        store.save(portfolio())
    make_version_1(store_url)
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ka_stage_move (x INTEGER)")
    before = schema_of_v1(engine)
    with pytest.raises(sa.exc.SQLAlchemyError):
        Store.upgrade(store_url)
    assert schema_of_v1(engine) == before
    engine.dispose()


def schema_of_v1(engine: sa.Engine) -> tuple[object, ...]:
    """The table names, the version row and whether Alembic's table exists."""
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        version = conn.exec_driver_sql("SELECT version FROM ka_schema").all()
    return (names, version)


def test_items_keep_their_level_as_a_rank(ops: OperationsStore) -> None:
    """The level column holds the rank, so SQL can move an item up one level."""
    item = ops.open(
        "x",
        subject_id="C1",
        department="IT",
        responsible_person="A",
        who="A",
        on="2024-01-01",
        level=Level.PROVINCE,
    )
    with ops._engine.connect() as conn:
        rank = conn.exec_driver_sql("SELECT level FROM ka_supervision_item").scalar_one()
    assert rank == Level.PROVINCE.rank == item.level.rank


def test_the_docstring_example_runs() -> None:
    """The example in ``OperationsStore``'s docstring runs and prints what it says."""
    result = doctest.testmod(importlib.import_module("keyaccount.store._operations"))
    assert result.attempted > 0
    assert result.failed == 0


def test_the_last_history_day_is_the_latest_recorded(ops: OperationsStore) -> None:
    """last_history_day is None on an empty history, then the latest day of any row."""
    assert ops.last_history_day() is None
    item = ops.open(
        "receipts late",
        subject_id="C1",
        department="SERVICE",
        responsible_person="Li",
        who="Wang",
        on="2024-03-01",
    )
    ops.sweep("2024-03-20", who="sweep")
    ops.close_out(item.id, "route changed", who="Li", on="2024-03-22")
    assert str(ops.last_history_day()) == "2024-03-22"
    assert ops.last_history_day() == max(row.when for row in ops.history())
