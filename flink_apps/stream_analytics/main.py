"""Entry point of the stream analytics job, as Managed Service for Apache Flink runs it (``python=main.py``).

On the service the property groups come from ``/etc/flink/application_properties.json``; locally from the file
given with ``--properties`` (``make analytics-local`` writes one), with ``--local`` for file source and sink. A bad
property stops the job with one line naming the group, key, value and what is allowed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# The package sits next to this file, in the artifact as in the source tree.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyflink.common import Configuration
from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment
from stream_analytics.forest import DETECTOR
from stream_analytics.job import build
from stream_analytics.settings import SettingsError, load_groups, parse_settings

SERVICE_PROPERTIES = "/etc/flink/application_properties.json"
LOG = logging.getLogger("stream_analytics")


def main(argv: list[str] | None = None) -> int:
    """Build and run the job; returns the exit status."""
    parser = argparse.ArgumentParser(prog="main.py", description="The stream analytics job.")
    parser.add_argument("--properties", default=SERVICE_PROPERTIES, help="property groups file (%(default)s)")
    parser.add_argument("--local", action="store_true", help="local mini-cluster, file source and sink")
    parser.add_argument("--parallelism", type=int, default=1, help="local parallelism (%(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = parse_settings(load_groups(args.properties), local=args.local)
    except SettingsError as error:
        print(f"main.py: error: {error}", file=sys.stderr)
        return 2
    LOG.info("random cut forest implementation: %s", DETECTOR)
    config = Configuration()
    if args.local:
        # The mini-cluster's Python workers must be this interpreter (the job's own venv), and small bundles keep
        # the put-to-output latency low.
        config.set_string("python.executable", sys.executable)
        config.set_string("python.fn-execution.bundle.time", "100")
        config.set_string("python.fn-execution.bundle.size", "500")
        # A failure should end a local run with its error, not restart it forever.
        config.set_string("restart-strategy.type", "none")
    # Watermarks are emitted periodically; the timers that score each device in event time wait for them.
    config.set_string("pipeline.auto-watermark-interval", "200 ms")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    if args.local:
        env.set_parallelism(args.parallelism)
        # On the service, checkpointing is the application's configuration (CDK); locally it is set here.
        env.enable_checkpointing(10_000, CheckpointingMode.EXACTLY_ONCE)
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("table.local-time-zone", "UTC")
    build(env, t_env, settings)
    env.execute("stream-analytics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
