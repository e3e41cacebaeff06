"""Explanation text as columns: equal, row for row, to the texts made one item at a time."""

from __future__ import annotations

import importlib.util
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Portfolio
from keyaccount.crosssell import CrossSellModel
from keyaccount.demo import generate
from keyaccount.domain import fen_to_yuan
from keyaccount.exceptions import ValidationError
from keyaccount.portfolio.texts import (
    KEY_BLOCK,
    ChunkedPieces,
    TextColumn,
    fixed_keys,
    integer_pieces,
    keyed,
    money_pieces,
    significant_keys,
)
from keyaccount.rules import Evaluation, Policy, default_policy
from tests.strategies import PortfolioData, policies, portfolios
from tests.unit.crosssell_data import Generated, crosssell_portfolios

LANGS = ("en", "zh")
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_TIES = st.integers(-(10**7), 10**7).map(lambda n: float(Decimal(n) / 2000))  # x.xxx5 ties


def _written(fill: Any, values: Any) -> list[str]:
    column = TextColumn(len(values))
    fill(column, np.asarray(values, dtype=np.int64))
    texts: list[str] = column.objects().tolist()
    return texts


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40))
def test_integers_are_written_as_python_writes_them(values: list[int]) -> None:
    """``str(v)`` and ``f"{v:,}"`` over a column, the extremes of int64 included."""
    assert _written(integer_pieces, values) == [str(v) for v in values]
    plain = _written(lambda c, v: integer_pieces(c, v, thousands=","), values)
    assert plain == [f"{v:,}" for v in values]


@given(st.lists(st.integers(-(10**17), 10**17), max_size=40))
def test_fen_are_written_as_decimal_yuan(fen: list[int]) -> None:
    """Money is ``str(fen_to_yuan(f))`` and ``f"{yuan:,}"``, byte for byte."""
    assert _written(money_pieces, fen) == [str(fen_to_yuan(f)) for f in fen]
    separated = _written(lambda c, v: money_pieces(c, v, thousands=","), fen)
    assert separated == [f"{fen_to_yuan(f):,}" for f in fen]


def _by_key(keys: Any, values: list[float], spec: str) -> list[str]:
    dictionary, codes = keyed(keys, lambda row: format(values[row], spec))
    return [dictionary[c] for c in codes.tolist()]


@given(st.lists(_FLOATS | _TIES, max_size=60), st.sampled_from([1, 2, 4]))
def test_fixed_keys_decide_fixed_point_text(values: list[float], digits: int) -> None:
    """Rows with one key print alike with ``.{digits}f``, ties and signed zeros included."""
    keys = fixed_keys(np.array(values, dtype=np.float64), digits)
    spec = f".{digits}f"
    assert _by_key(keys, values, spec) == [format(v, spec) for v in values]


@given(st.lists(_FLOATS | _TIES | st.floats(1e-9, 1e9), max_size=60))
def test_significant_keys_decide_four_digit_text(values: list[float]) -> None:
    """Rows with one key print alike with ``.4g`` (exponent form and powers of ten included)."""
    keys = significant_keys(np.array(values, dtype=np.float64))
    assert _by_key(keys, values, ".4g") == [format(v, ".4g") for v in values]


def test_keys_near_powers_of_ten() -> None:
    """Values a hair either side of a power of ten round like Python's formatting."""
    values = [
        math.nextafter(10.0**e, d) * s
        for e in range(-12, 12)
        for d in (0, 1e300)
        for s in (1.0, 0.99995, 0.999949999)
    ]
    array = np.array(values)
    assert _by_key(significant_keys(array), values, ".4g") == [format(v, ".4g") for v in values]
    assert _by_key(fixed_keys(array, 4), values, ".4f") == [format(v, ".4f") for v in values]


def test_keys_of_long_columns_cross_blocks() -> None:
    """Columns longer than a block: zeros, ties, signs and non-finite values keyed alike."""
    rng = np.random.default_rng(7)
    size = 2 * KEY_BLOCK + 17
    values = rng.lognormal(-6.0, 4.0, size) * rng.choice([-1.0, 1.0], size)
    values[rng.integers(0, size, 5000)] = 0.0
    values[rng.integers(0, size, 50)] = -0.0
    values[rng.integers(0, size, 2000)] = rng.integers(-(10**6), 10**6, 2000) / 2000
    values[[5, KEY_BLOCK + 3, 2 * KEY_BLOCK + 1]] = [math.inf, math.nan, -math.inf]
    listed = values.tolist()
    assert _by_key(significant_keys(values), listed, ".4g") == [format(v, ".4g") for v in listed]
    assert _by_key(fixed_keys(values, 4), listed, ".4f") == [format(v, ".4f") for v in listed]


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.booleans()), max_size=40),
    st.integers(1, 9),
)
def test_pieces_made_chunk_by_chunk_share_their_dictionaries(
    rows: list[tuple[int, bool]], chunk: int
) -> None:
    """Chunks key and render their rows alike: the column equals the rows rendered one by one."""
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    present = np.array([p for _, p in rows], dtype=np.bool_)
    pieces = ChunkedPieces(len(rows))
    rendered: list[int] = []
    for lo in range(0, len(rows), chunk):

        def render(r: int, lo: int = lo) -> str:
            rendered.append(int(keys[lo + r]))
            return f"<{keys[lo + r]}>"

        pieces.start(lo)
        pieces.add(present[lo : lo + chunk], keys[lo : lo + chunk], render)
        parity = keys[lo : lo + chunk] % 2

        def odd(r: int, parity: Any = parity) -> str:
            return str(parity[r])

        pieces.add(np.ones(parity.shape, dtype=np.bool_), parity, odd)
    column = pieces.column()
    assert column.tolist() == [(f"<{k}>" if p else "") + ("1" if k % 2 else "0") for k, p in rows]
    assert sorted(rendered) == sorted({k for k, p in rows if p}), "each key rendered once"


def test_arrow_and_numpy_joins_agree() -> None:
    """The Arrow materialisation gives the same strings (nulls where absent)."""
    pytest.importorskip("pyarrow")
    column = TextColumn(5)
    column.add(("a", "bb"), [0, 1, -1, 0, 1])
    column.text("-", where=[True, False, True, False, True])
    integer_pieces(column, np.array([1, -2000, 30, 0, 10**6]), thousands=",")
    absent = np.array([False, False, False, True, False])
    assert column.to_arrow(absent).to_pylist() == column.objects(absent).tolist()
    assert column.objects(absent).tolist() == ["a-1", "bb-2,000", "-30", None, "bb-1,000,000"]


_PIECE = st.lists(st.text(max_size=6), min_size=1, max_size=5)


@st.composite
def _columns(draw: st.DrawFn) -> tuple[TextColumn, list[str], list[bool]]:
    """A column of random pieces (unicode, empty strings, rows without a piece) and its rows."""
    size = draw(st.integers(0, 30))
    column = TextColumn(size)
    expected = [""] * size
    for dictionary in draw(st.lists(_PIECE, max_size=5)):
        codes = draw(st.lists(st.integers(-1, len(dictionary) - 1), min_size=size, max_size=size))
        column.add(dictionary, codes)
        expected = [
            t + (dictionary[c] if c >= 0 else "") for t, c in zip(expected, codes, strict=True)
        ]
    absent = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    return column, expected, absent


@given(_columns(), st.integers(1, 7))
def test_arrow_chunks_join_every_row(
    drawn: tuple[TextColumn, list[str], list[bool]], chunk_rows: int
) -> None:
    """``to_arrow`` over chunks of any size equals the rows joined one at a time."""
    pytest.importorskip("pyarrow")
    column, expected, absent = drawn
    mask = np.array(absent, dtype=np.bool_)
    arrow = column.to_arrow(mask, chunk_rows=chunk_rows)
    assert str(arrow.type) == "string"
    assert arrow.to_pylist() == [None if a else t for t, a in zip(expected, absent, strict=True)]
    assert column.to_arrow(chunk_rows=chunk_rows).to_pylist() == expected
    assert column.tolist() == expected


@given(_columns(), st.data())
def test_a_column_is_a_sequence_of_its_rows(
    drawn: tuple[TextColumn, list[str], list[bool]], data: st.DataObject
) -> None:
    """Indexing, slicing, selecting, iterating and ``numpy.asarray`` give the joined rows."""
    column, expected, _ = drawn
    size = len(expected)
    assert len(column) == size
    assert list(column) == expected
    assert np.asarray(column).tolist() == expected
    if size:
        i = data.draw(st.integers(-size, size - 1))
        assert column[i] == expected[i]
    with pytest.raises(IndexError, match=str(size)):
        column[size]
    start, stop, step = (data.draw(st.none() | st.integers(-40, 40)) for _ in range(3))
    step = step or None
    assert column[start:stop:step].tolist() == expected[start:stop:step]
    picked = data.draw(st.lists(st.integers(0, size - 1), max_size=10)) if size else []
    assert column[np.array(picked, dtype=np.int64)].tolist() == [expected[i] for i in picked]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
    assert column[mask].tolist() == [t for t, m in zip(expected, mask.tolist(), strict=True) if m]


# ---------------------------------------------------------------- evaluations


def _per_item(evaluation: Evaluation, lang: str) -> list[str | None]:
    """The explanation column as the transitions and holds write it, one at a time."""
    out: list[str | None] = [None] * len(evaluation.customer_ids)
    position = {c: i for i, c in enumerate(evaluation.customer_ids.tolist())}
    joiner = "；" if lang == "zh" else "; "
    for t in sorted((*evaluation.transitions, *evaluation.held), key=lambda t: t.kind != "tier"):
        i = position[t.customer_id]
        text, before = t.reason(lang), out[i]
        out[i] = text if before is None else before + joiner + text
    return out


def _check_evaluation(evaluation: Evaluation) -> None:
    for lang in LANGS:
        expected = _per_item(evaluation, lang)
        assert evaluation.explanations(lang).tolist() == expected


@settings(max_examples=40)
@given(data=portfolios(max_customers=8, max_records=60), policy=policies())
def test_evaluation_texts_equal_the_reasons(data: PortfolioData, policy: Policy) -> None:
    """Every customer's text equals its transitions' reasons, for both evaluators."""
    table = Portfolio(data.customers, data.records).metrics(data.as_of)
    _check_evaluation(policy.evaluate(table))
    _check_evaluation(policy.evaluate(table, engine="reference"))


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """The demo portfolio, 4,000 customers over 24 months."""
    return generate(customers=4000, months=24)


def test_demo_evaluation_texts_and_frame(demo: Portfolio) -> None:
    """The demo's default evaluation: texts, and the frame's text and cited columns."""
    pd = pytest.importorskip("pandas")
    policy = default_policy()
    evaluation = policy.evaluate(demo, "2022-11")
    _check_evaluation(evaluation)
    assert len(evaluation.transitions) > 100
    frame = evaluation.to_pandas(lang="zh")
    texts = [t if isinstance(t, str) else None for t in frame["explanation"].tolist()]
    assert texts == _per_item(evaluation, "zh")
    position = {c: i for i, c in enumerate(evaluation.customer_ids.tolist())}
    decided = sorted(
        (*evaluation.transitions, *evaluation.held),
        key=lambda t: (t.kind != "tier", position[t.customer_id]),
    )
    cited: dict[str, dict[int, Any]] = {}
    for t in decided:
        for name, value in t.explanation:
            cited.setdefault(name, {})[position[t.customer_id]] = value
    start = frame.columns.tolist().index("explanation") + 1
    money = {n for n, values in cited.items() if isinstance(next(iter(values.values())), Decimal)}
    expected = [c for n in cited for c in ((f"{n}_fen", n) if n in money else (n,))]
    assert frame.columns[start:].tolist() == expected
    for name, values in cited.items():
        column = frame[name]
        for i, value in values.items():
            assert pd.isna(column.iloc[i]) if value is None else column.iloc[i] == value, name
        assert int(column.notna().sum()) == sum(v is not None for v in values.values())


def test_unknown_language_is_refused(demo: Portfolio) -> None:
    """``explanations`` names the bad language like the other text methods."""
    evaluation = default_policy().evaluate(demo, "2022-11")
    with pytest.raises(ValidationError, match="fr"):
        evaluation.explanations("fr")
    with pytest.raises(ValidationError, match="fr"):
        CrossSellModel.fit(demo).recommend_all(1).explanations("fr")


# ---------------------------------------------------------------- recommendations


def _check_recommendations(model: CrossSellModel, **options: Any) -> None:
    table = model.recommend_all(5, **options)
    for lang in LANGS:
        expected = [r.explanation(lang) for _, recs in table for r in recs]
        texts = table.explanations(lang)
        assert texts.tolist() == expected
        assert [texts[i] for i in range(len(texts))] == expected
        assert table.explanations(lang, rows=slice(1, None, 3)).tolist() == expected[1::3]
        picked = np.arange(len(expected))[::-2]
        assert table.explanations(lang, rows=picked).tolist() == [expected[i] for i in picked]
        if importlib.util.find_spec("pyarrow") is not None:
            assert texts.to_arrow(chunk_rows=7).to_pylist() == expected


@settings(max_examples=20)
@given(crosssell_portfolios(min_customers=4, max_customers=30))
def test_recommendation_texts_equal_the_explanations(generated: Generated) -> None:
    """Every recommendation's text equals :meth:`Recommendation.explanation`, both languages."""
    model = CrossSellModel.fit(generated.portfolio, generated.as_of, min_co_buyers=1)
    _check_recommendations(model)
    _check_recommendations(model, boost={"court_express": 2.5, "card_letter": 0.3})


def test_recommendation_texts_made_in_chunks(
    demo: Portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of a few hundred recommendations give the texts of the whole column."""
    table = CrossSellModel.fit(demo).recommend_all(5, boost={"card_letter": 2.0})
    whole = {lang: table.explanations(lang).tolist() for lang in LANGS}
    monkeypatch.setattr("keyaccount.crosssell._recommend.EXPLAIN_CHUNK", 333)
    for lang in LANGS:
        assert table.explanations(lang).tolist() == whole[lang]
        assert whole[lang] == [r.explanation(lang) for _, recs in table for r in recs]
        assert table.explanations(lang, rows=slice(500, 1500)).tolist() == whole[lang][500:1500]


def test_demo_recommendation_texts_and_frame(demo: Portfolio) -> None:
    """The demo's recommendations (boosted, with parents and siblings): texts and frame column."""
    pytest.importorskip("pandas")
    model = CrossSellModel.fit(demo)
    _check_recommendations(model, boost={"court_express": 1.5, "e_receipt": 0.25})
    table = model.recommend_all(5)
    frame = table.to_pandas(explanations=True, lang="zh")
    assert frame["explanation"].dtype == "str"
    assert frame["explanation"].tolist() == [r.explanation("zh") for _, recs in table for r in recs]
    texts = table.explanations("en").tolist()
    arrow = table.to_arrow(explanations=True, lang="en")
    assert arrow.column("explanation").to_pylist() == texts
    assert any("sibling accounts buy it" in t and ", ..." in t for t in texts)
    assert any("its parent" in t for t in texts)
