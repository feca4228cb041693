"""Kinds of data: every column is numerical discrete, numerical continuous, logical (categorical) or ordinal.

The classification is decided from evidence a person can check (the dtype, how many distinct values, whether the
numbers are whole, whether the labels come from a known ordered scale) and the evidence is kept with the verdict, so
the report can show why. A user who knows better overrides a column with ``--kind COL=KIND``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_jobs.eda.errors import InputError


class Kind(StrEnum):
    """The four kinds of data of the study notes."""

    DISCRETE = "numerical discrete"
    CONTINUOUS = "numerical continuous"
    LOGICAL = "logical"
    ORDINAL = "ordinal"


# What --kind accepts, short and long.
KIND_NAMES: Final = {
    "discrete": Kind.DISCRETE,
    "continuous": Kind.CONTINUOUS,
    "logical": Kind.LOGICAL,
    "categorical": Kind.LOGICAL,
    "ordinal": Kind.ORDINAL,
}

# Labels of a yes/no column, in any case.
YES_NO: Final = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "on", "off", "0", "1"})

# Ordered scales recognised in text columns, lowest first. A column is ordinal when all its labels belong to one.
ORDERED_SCALES: Final[tuple[tuple[str, ...], ...]] = (
    ("ok", "warning", "error"),
    ("ok", "warning", "critical"),
    ("none", "low", "medium", "high", "critical"),
    ("very low", "low", "medium", "high", "very high"),
    ("low", "moderate", "high", "severe"),
    ("xs", "s", "m", "l", "xl", "xxl"),
    ("small", "medium", "large", "extra large"),
    ("poor", "fair", "good", "very good", "excellent"),
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("bronze", "silver", "gold", "platinum"),
    ("first", "second", "third", "fourth"),
)

# A text column with more distinct values than this, most of them unique, is an identifier or free text.
IDENTIFIER_MIN_DISTINCT: Final = 50
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class ColumnKind:
    """The kind of one column, the evidence for it, and its role in the analysis."""

    name: str
    kind: Kind
    dtype: str
    distinct: int
    missing: int
    integer_valued: bool
    evidence: str
    role: str = "feature"  # "feature", "time", "identifier", "partition"
    order: tuple[str, ...] = field(default=())  # labels lowest first, for ordinal text columns

    def as_dict(self) -> dict[str, Any]:
        """The classification as plain data, for metrics.json."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "dtype": self.dtype,
            "distinct": self.distinct,
            "missing": self.missing,
            "integer_valued": self.integer_valued,
            "evidence": self.evidence,
            "role": self.role,
            "order": list(self.order),
        }


def _integer_valued(values: pd.Series) -> bool:
    finite = values[np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))]
    return bool(len(finite)) and bool(np.all(np.mod(finite.to_numpy(dtype=float), 1.0) == 0.0))


def _scale_of(labels: Iterable[str]) -> tuple[str, ...] | None:
    lowered = {label.strip().lower() for label in labels}
    for scale in ORDERED_SCALES:
        if len(lowered) >= 2 and lowered <= set(scale):
            return scale
    return None


def looks_like_time(values: pd.Series) -> bool:
    """Whether a text column holds ISO-8601 dates or times (checked on up to 200 values)."""
    sample = values.dropna().astype(str).head(200)
    return bool(len(sample)) and bool(sample.str.match(_ISO_DATE).mean() >= 0.95)


def _numeric(name: str, values: pd.Series, base: dict[str, Any], note: str = "") -> ColumnKind:
    distinct = base["distinct"]
    integer = _integer_valued(values)
    base["integer_valued"] = integer
    if distinct <= 1:
        return ColumnKind(name, Kind.LOGICAL, evidence=f"{note}constant: {distinct} distinct value", **base)
    if distinct == 2:
        return ColumnKind(name, Kind.LOGICAL, evidence=f"{note}numeric with 2 distinct values (binary)", **base)
    if integer:
        return ColumnKind(name, Kind.DISCRETE, evidence=f"{note}whole numbers, {distinct} distinct values", **base)
    return ColumnKind(name, Kind.CONTINUOUS, evidence=f"{note}fractional numbers, {distinct} distinct values", **base)


def _text(name: str, values: pd.Series, base: dict[str, Any]) -> ColumnKind:
    present = values.dropna().astype(str)
    labels = present.unique()
    distinct = base["distinct"]
    lowered = {label.strip().lower() for label in labels}
    if len(lowered) <= 2 and lowered <= YES_NO:
        return ColumnKind(name, Kind.LOGICAL, evidence=f"yes/no labels {sorted(labels)}", **base)
    scale = _scale_of(labels)
    if scale is not None:
        used = tuple(label for label in scale if label in {str(x).strip().lower() for x in labels})
        return ColumnKind(
            name, Kind.ORDINAL, evidence=f"labels from the ordered scale {' < '.join(scale)}", order=used, **base
        )
    if len(present) and pd.to_numeric(present, errors="coerce").notna().all():
        return _numeric(name, pd.to_numeric(present), base, note="numbers stored as text; ")
    if looks_like_time(values):
        return ColumnKind(name, Kind.CONTINUOUS, evidence="ISO-8601 dates/times as text", role="time", **base)
    if distinct > IDENTIFIER_MIN_DISTINCT and distinct > 0.5 * len(present):
        evidence = f"text, {distinct} distinct values in {len(present)} rows: an identifier or free text"
        return ColumnKind(name, Kind.LOGICAL, evidence=evidence, role="identifier", **base)
    return ColumnKind(name, Kind.LOGICAL, evidence=f"text categories, {distinct} distinct values", **base)


def classify_column(name: str, values: pd.Series) -> ColumnKind:
    """The kind of one column, from its dtype and values."""
    base: dict[str, Any] = {
        "dtype": str(values.dtype),
        "distinct": int(values.nunique(dropna=True)),
        "missing": int(values.isna().sum()),
        "integer_valued": False,
    }
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        order = tuple(str(c) for c in values.dtype.categories)
        return ColumnKind(name, Kind.ORDINAL, evidence="ordered categorical dtype", order=order, **base)
    if pd.api.types.is_bool_dtype(values.dtype):
        return ColumnKind(name, Kind.LOGICAL, evidence="boolean dtype", **base)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return ColumnKind(name, Kind.CONTINUOUS, evidence="datetime dtype", role="time", **base)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return _numeric(name, values, base)
    return _text(name, values.astype("object"), base)


def parse_overrides(specs: Sequence[str], columns: Sequence[str]) -> dict[str, tuple[Kind, tuple[str, ...]]]:
    """``COL=KIND`` (or ``COL=ordinal:low<mid<high``) specs as {column: (kind, order)}; InputError names the bad one."""
    allowed = ", ".join(sorted(KIND_NAMES))
    overrides: dict[str, tuple[Kind, tuple[str, ...]]] = {}
    for spec in specs:
        # The last '=' separates: column names may contain '=' themselves, kinds never do.
        column, separator, kind_text = spec.rpartition("=")
        if not separator or not column:
            raise InputError(f"--kind: {spec!r} is not COL=KIND; use one of {allowed} as KIND")
        kind_name, _, order_text = kind_text.partition(":")
        kind = KIND_NAMES.get(kind_name.strip().lower())
        if kind is None:
            raise InputError(f"--kind: {kind_name!r} in {spec!r} is not a kind; use one of {allowed}")
        if column not in columns:
            raise InputError(f"--kind: no column {column!r} in the input (columns: {', '.join(map(repr, columns))})")
        order = tuple(label.strip() for label in order_text.split("<") if label.strip()) if order_text else ()
        overrides[column] = (kind, order)
    return overrides


def classify(
    frame: pd.DataFrame,
    overrides: Mapping[str, tuple[Kind, tuple[str, ...]]] | None = None,
    partitions: Iterable[str] = (),
) -> dict[str, ColumnKind]:
    """The kind of every column, with the user's overrides applied on top of the evidence.

    ``partitions`` are Hive partition columns of a folder (year=/month=/...): they repeat the time column, so they
    are classified but not analysed.
    """
    kinds: dict[str, ColumnKind] = {}
    partition_names = set(partitions)
    for name in frame.columns:
        found = classify_column(str(name), frame[name])
        if name in partition_names:
            found = replace(found, role="partition", evidence=f"Hive partition column; {found.evidence}")
        if overrides and name in overrides:
            kind, order = overrides[name]
            if kind is Kind.ORDINAL and not order:
                order = found.order or tuple(str(v) for v in sorted(frame[name].dropna().unique(), key=_sort_key))
            role = "time" if found.role == "time" else "feature"
            found = ColumnKind(
                found.name,
                kind,
                found.dtype,
                found.distinct,
                found.missing,
                found.integer_valued,
                f"set by --kind (the evidence said {found.kind.value}: {found.evidence})",
                role,
                order if kind is Kind.ORDINAL else (),
            )
        kinds[str(name)] = found
    return kinds


def _sort_key(value: object) -> tuple[int, float, str]:
    try:
        return (0, float(str(value)), "")
    except ValueError:
        return (1, 0.0, str(value))
