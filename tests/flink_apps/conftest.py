"""The analytics job's tests run in .venv-flink (``make flink-test``); its package sits in flink_apps/stream_analytics."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

APP_DIR = Path(__file__).resolve().parents[2] / "flink_apps" / "stream_analytics"
sys.path.insert(0, str(APP_DIR))

# PyFlink starts its JVM (gateway and mini-cluster) with these options when the tests first need it. A test's JVM lives
# for seconds: the C1 compiler alone warms up far sooner than the tiered default, and the serial collector suits its
# small heap (the Spark tests' JVM is started the same way). Interleaved runs of the job test: about 12 s instead of 18.
os.environ.setdefault("JVM_ARGS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

# No Hypothesis deadline: this suite runs beside pytest's workers (make test), and speed is the benchmarks' business.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


def pytest_sessionfinish() -> None:
    """Stop the Python workers' gRPC servers that PyFlink leaves running, while threads can still start.

    Beam registers each server's graceful stop to run at exit, where Python 3.12 refuses the thread it starts: the
    run would end with a traceback that looks like a failure but is not one.
    """
    import gc

    grpc_server = sys.modules.get("grpc._server")
    if grpc_server is None:
        return
    for server in [o for o in gc.get_objects() if isinstance(o, grpc_server._Server)]:
        server.stop(None).wait(5)
