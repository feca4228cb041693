"""A stand-in for the parts of ``awsglue`` that ``GlueJobIO`` uses, over local Spark, to run ``job.main`` in tests.

It follows the documented API only: ``getResolvedOptions(argv, names)``, ``GlueContext(sc).spark_session`` and
``create_dynamic_frame.from_options(...)``, a DynamicFrame's ``schema()``, ``resolveChoice(specs=...)``, ``toDF()``,
``errorsCount()`` and ``errorsAsDynamicFrame()``, ``Job(glue_context).init(name, args)`` and ``commit()``. Every call
is recorded in ``CALLS`` so that tests can check what the adapter asked of Glue.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from glue_jobs.curate_events import local

CALLS: list[tuple[str, Any]] = []


class ChoiceType:
    """A field whose JSON type varies between records."""


class _Frame:
    def __init__(self, rows: DataFrame, errors: DataFrame | None, choices: Sequence[str]) -> None:
        self._rows, self._errors, self._choices = rows, errors, tuple(choices)

    def schema(self) -> types.SimpleNamespace:
        fields = [
            types.SimpleNamespace(
                name=item.name, dataType=ChoiceType() if item.name in self._choices else item.dataType
            )
            for item in self._rows.schema.fields
        ]
        return types.SimpleNamespace(fields=fields)

    def resolveChoice(self, specs: Sequence[tuple[str, str]], transformation_ctx: str) -> _Frame:  # noqa: N802
        CALLS.append(("resolveChoice", (list(specs), transformation_ctx)))
        return _Frame(self._rows, self._errors, ())

    def toDF(self) -> DataFrame:  # noqa: N802
        return self._rows

    def errorsCount(self) -> int:  # noqa: N802
        return 0 if self._errors is None else self._errors.count()

    def errorsAsDynamicFrame(self) -> _Frame:  # noqa: N802
        assert self._errors is not None
        return _Frame(self._errors, None, ())


class _Reader:
    def __init__(self, spark: SparkSession, choices: Sequence[str]) -> None:
        self._spark, self._choices = spark, choices

    def from_options(self, **options: Any) -> _Frame:
        CALLS.append(("from_options", options))
        raw = local.LocalJobIO(self._spark).read_raw_events(options["connection_options"]["paths"][0], None)  # type: ignore[arg-type]
        return _Frame(raw.events, raw.reader_errors, self._choices)


class GlueContext:
    """The Glue context: the session and the DynamicFrame reader."""

    choices: Sequence[str] = ()

    def __init__(self, spark_context: object) -> None:
        self.spark_session = SparkSession.builder.getOrCreate()
        self.create_dynamic_frame = _Reader(self.spark_session, self.choices)


class Job:
    """The job whose commit advances the bookmark."""

    fail_commit = False

    def __init__(self, glue_context: GlueContext) -> None:
        self.glue_context = glue_context

    def init(self, name: str, options: dict[str, str]) -> None:
        CALLS.append(("init", name))

    def commit(self) -> None:
        CALLS.append(("commit", None))
        if self.fail_commit:
            raise RuntimeError("the driver died before Job.commit() finished")


def getResolvedOptions(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:  # noqa: N802
    """``--name value`` pairs of ``argv`` for each of ``names``."""
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    return {name: pairs[f"--{name}"] for name in names}


@contextmanager
def installed(choices: Sequence[str] = (), *, fail_commit: bool = False) -> Iterator[list[tuple[str, Any]]]:
    """Make ``import awsglue...`` find this stand-in, whose reader reports ``choices`` as choice types and whose
    ``Job.commit`` fails if ``fail_commit``; yield the calls made to it."""
    Job.fail_commit = fail_commit
    GlueContext.choices = tuple(choices)
    this = sys.modules[__name__]
    modules = {
        "awsglue": types.ModuleType("awsglue"),
        "awsglue.context": this,
        "awsglue.job": this,
        "awsglue.utils": this,
        "awsglue.gluetypes": this,
    }
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    CALLS.clear()
    try:
        yield CALLS
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
