"""Session fixtures: one synthesis of every environment (reviewed once by the security gate), the two combinations of
the optional units (reviewed once together), and one SparkSession.

Every test that reads a synthesis runs on the same xdist worker (group `lake`), and every test that uses Spark on one
other (group `spark`), so each is made once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.nodeid import NodeId  # pytest 9.2's structured node id (see _suffix_node_id)
from botocore import loaders
from hypothesis import settings

LAKE_FIXTURES = {
    "synthesized",
    "sandbox",
    "prod",
    "security_review",
    "combinations",
    "variant",
    "bare",
    "combinations_review",
}


def pytest_configure(config: pytest.Config) -> None:
    """Know the group mark when xdist is off too (`-p no:xdist`), as --strict-markers requires; parse each AWS
    service's model once per process; no Hypothesis deadline (the suites share the cores with each other: speed is
    the benchmarks' business, never a test's)."""
    config.addinivalue_line("markers", "xdist_group(name): run every test of the group on the same xdist worker")
    _share_botocore_models()
    settings.register_profile("untimed", deadline=None)
    settings.load_profile("untimed")


def _share_botocore_models() -> None:
    """One cache of botocore's parsed service models for every session of the process.

    moto gives each test a new default boto3 session, and a new session parses the JSON models of every service it
    makes a client for again (about a tenth of a second for S3): over the suite's moto tests, seconds of CPU. botocore
    already hands the same parsed model to every client of one session, so sharing it between sessions that read the
    same (default) data path changes nothing else.
    """
    shared: dict[Any, Any] = {}
    init = loaders.Loader.__init__

    def init_sharing_the_cache(self: loaders.Loader, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if not args and not kwargs:  # botocore's default search paths (no AWS_DATA_PATH)
            self._cache = shared

    loaders.Loader.__init__ = init_sharing_the_cache  # type: ignore[method-assign]


def xdist_group(item: pytest.Item) -> str | None:
    """The worker group of a test: its own `xdist_group` mark, else `lake` or `spark` by the fixtures it uses."""
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    fixtures = set(getattr(item, "fixturenames", ()))
    if LAKE_FIXTURES & fixtures:
        return "lake"
    if "spark" in fixtures:
        return "spark"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every test that reads a synthesized environment on one worker, before xdist distributes the groups.

    xdist's loadgroup learns a test's group from a `@group` suffix that it writes into the node id; pytest 9.2 keeps
    node ids in a structured field that this write no longer reaches (pytest-xdist issue 1386), so every group would
    be spread over both workers, each building the session fixtures again. The suffix is written here where xdist
    cannot; xdist's own write then changes nothing.
    """
    for item in items:
        group = xdist_group(item)
        if group is None:
            continue
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
        if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
            _suffix_node_id(item, group)


def _suffix_node_id(item: pytest.Item, group: str) -> None:
    if not item.nodeid.endswith(f"@{group}"):
        item._id = NodeId.parse(f"{item.nodeid}@{group}")


# The CDK, the gate and Spark are imported by the fixtures that need them: a run of tests that use none of them (the
# Lambdas', the tools') starts in a second less.
if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from tests.synth import Synthesized
    from tools.security.model import Report


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every environment in cdk.json, synthesized once for the whole session, as the security gate synthesizes."""
    from tests.synth import ENVIRONMENTS, synthesize

    return {
        name: synthesize(name, tmp_path_factory.mktemp(f"cdk.out-{name}"), for_review=True) for name in ENVIRONMENTS
    }


@pytest.fixture(scope="session")
def security_review(synthesized: dict[str, Synthesized]) -> Report:
    """The security gate's review (cdk-nag, cfn-lint, checkov) of the session's environments, as `make security`.

    It applies each environment's deferred acknowledgments, once.
    """
    from tests.synth import REVIEW_CACHE
    from tools.security import gate
    from tools.security.synthesis import for_review

    return gate.review([for_review(name, synth.synthesis) for name, synth in synthesized.items()], cache=REVIEW_CACHE)


@pytest.fixture(scope="session")
def sandbox(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The default environment."""
    return synthesized["sandbox"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The production environment."""
    return synthesized["prod"]


@pytest.fixture(scope="session")
def combinations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesized, Synthesized, Report]:
    """The two combinations of the optional units, environments of the tests' own (tests.synth.VARIANT and BARE),
    synthesized as the gate synthesizes, and the gate's review of both at once (one start of each tool).

    The review applies their deferred acknowledgments, so from then on their stacks carry them as any synthesis does.
    """
    from tests.synth import BARE, BARE_BLOCK, REVIEW_CACHE, VARIANT, VARIANT_BLOCK, synthesize
    from tools.security import gate
    from tools.security.synthesis import for_review

    synths = tuple(
        synthesize(name, tmp_path_factory.mktemp(f"cdk.out-{name}"), environments={name: block}, for_review=True)
        for name, block in ((VARIANT, VARIANT_BLOCK), (BARE, BARE_BLOCK))
    )
    review = gate.review([for_review(synth.settings.name, synth.synthesis) for synth in synths], cache=REVIEW_CACHE)
    return synths[0], synths[1], review


@pytest.fixture(scope="session")
def variant(combinations: tuple[Synthesized, Synthesized, Report]) -> Synthesized:
    """The one environment that turns on what the project's own environments leave off (tests.synth.VARIANT)."""
    return combinations[0]


@pytest.fixture(scope="session")
def bare(combinations: tuple[Synthesized, Synthesized, Report]) -> Synthesized:
    """The least an environment can be: every optional unit off (tests.synth.BARE)."""
    return combinations[1]


@pytest.fixture(scope="session")
def combinations_review(combinations: tuple[Synthesized, Synthesized, Report]) -> Report:
    """The security gate's review of both combinations (cdk-nag, cfn-lint, checkov, cfn-guard): they pass the same
    gate as the project's own environments."""
    return combinations[2]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local SparkSession shared by every test (Glue job, ML): starting a JVM takes seconds, so there is only one."""
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.warehouse.dir", str(warehouse))
        # A test JVM lives for seconds: the C1 compiler alone warms up far sooner than the tiered default, and the
        # serial collector suits a small heap.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        # The tests check what the transformations compute, which does not depend on how Spark executes them. On
        # frames of a few rows, generating and compiling Java for every new plan, and adaptive re-planning, cost far
        # more than the work: interpreted evaluation (factoryMode is the internal switch Spark's own suites use)
        # cuts the run by about a third.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
