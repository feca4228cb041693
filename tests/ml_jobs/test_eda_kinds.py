"""Kinds of data: crafted columns get the kind the notes give them, with evidence; the user can override."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_jobs.eda.errors import InputError
from ml_jobs.eda.kinds import Kind, classify, classify_column, parse_overrides


@pytest.mark.parametrize(
    ("values", "kind", "evidence"),
    [
        (pd.Series([1, 2, 3, 4, 2, 7]), Kind.DISCRETE, "whole numbers"),
        (pd.Series([1.0, 2.0, np.nan, 5.0]), Kind.DISCRETE, "whole numbers"),
        (pd.Series([1.5, 2.25, 3.0, 4.75]), Kind.CONTINUOUS, "fractional"),
        (pd.Series([0, 1, 1, 0]), Kind.LOGICAL, "binary"),
        (pd.Series([True, False, True]), Kind.LOGICAL, "boolean dtype"),
        (pd.Series(["Yes", "no", None, "YES"]), Kind.LOGICAL, "yes/no"),
        (pd.Series(["red", "green", "blue", "red"]), Kind.LOGICAL, "text categories"),
        (pd.Series(["ok", "error", "warning", "ok"]), Kind.ORDINAL, "ok < warning < error"),
        (pd.Series(["High", "low", "medium"]), Kind.ORDINAL, "ordered scale"),
        (pd.Series(["3", "4", "10", None]), Kind.DISCRETE, "numbers stored as text"),
        (pd.Series(pd.Categorical(["b", "a"], categories=["a", "b", "c"], ordered=True)), Kind.ORDINAL, "ordered"),
    ],
)
def test_crafted_columns_get_their_kind_and_the_evidence(values: pd.Series, kind: Kind, evidence: str) -> None:
    # Given a crafted column; when classified; then its kind and the evidence for it are as the notes say
    found = classify_column("c", values)
    assert found.kind is kind
    assert evidence in found.evidence


def test_ordinal_labels_keep_their_order_lowest_first() -> None:
    # Given statuses in any order; when classified; then the order is the scale's, limited to the labels seen
    assert classify_column("status", pd.Series(["error", "ok", "error"])).order == ("ok", "error")


def test_times_and_identifiers_get_roles_instead_of_being_analysed_as_features() -> None:
    # Given a timestamp column, ISO text times and unique ids
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=60, freq="h"),
            "when": [f"2026-01-01T{h % 24:02d}:00:00Z" for h in range(60)],
            "id": [f"order-{n}" for n in range(60)],
        }
    )
    # When classified; then the two times are the time role, the ids an identifier
    kinds = classify(frame)
    assert (kinds["ts"].role, kinds["when"].role, kinds["id"].role) == ("time", "time", "identifier")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=3).filter(lambda xs: len(set(xs)) >= 3))
def test_any_whole_numbers_with_three_or_more_values_are_discrete(values: list[int]) -> None:
    # Given whole numbers (as int or as float); then they are numerical discrete
    assert classify_column("n", pd.Series(values)).kind is Kind.DISCRETE
    assert classify_column("n", pd.Series(values, dtype=float)).kind is Kind.DISCRETE


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3).filter(lambda xs: any(x % 1 for x in xs)))
def test_numbers_with_a_fraction_are_continuous(values: list[float]) -> None:
    # Given numbers at least one of which has a fractional part, and 3+ distinct values
    series = pd.Series(values)
    if series.nunique() < 3:
        return
    # Then they are numerical continuous
    assert classify_column("x", series).kind is Kind.CONTINUOUS


def test_an_override_wins_and_says_what_the_evidence_was() -> None:
    # Given a numeric code column the user knows to be ordinal, and a column named with '=' and spaces
    frame = pd.DataFrame({"grade code": [1, 3, 2, 3], "a=b": ["x", "y", "x", "y"]})
    overrides = parse_overrides(["grade code=ordinal", "a=b=logical"], list(frame.columns))

    # When classified
    kinds = classify(frame, overrides)

    # Then the override holds, with the numeric order, and the evidence is kept
    assert kinds["grade code"].kind is Kind.ORDINAL
    assert kinds["grade code"].order == ("1", "2", "3")
    assert "set by --kind (the evidence said numerical discrete" in kinds["grade code"].evidence
    assert kinds["a=b"].kind is Kind.LOGICAL


def test_an_ordinal_override_can_give_the_order() -> None:
    overrides = parse_overrides(["size=ordinal:S<M<L"], ["size"])
    assert overrides == {"size": (Kind.ORDINAL, ("S", "M", "L"))}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("size", "--kind: 'size' is not COL=KIND; use one of categorical, continuous, discrete, logical, ordinal"),
        ("size=big", "--kind: 'big' in 'size=big' is not a kind; use one of categorical, continuous, discrete"),
        ("weight=discrete", "--kind: no column 'weight' in the input (columns: 'size')"),
    ],
)
def test_a_bad_override_is_one_line_naming_the_flag_and_the_value(spec: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_overrides([spec], ["size"])
    assert str(raised.value).startswith(message)
