"""``make flink-artifact``: lay out ``build/flink/stream_analytics/`` as Managed Service for Apache Flink expects.

main.py, the package, ``lib/stream-analytics-connectors.jar`` (built by Maven from pom.xml) and ``dep/`` with the
Python dependencies PyFlink does not bring, unpacked for the service's Python 3.12 on x86_64 (never pandas, numpy
or pyarrow: PyFlink has its own). krcf ships ``manylinux_2_28`` wheels only: it is packaged, and the job falls back
to its Python forest if the runtime's glibc cannot load it (docs/analytics.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent
ROOT = APP.parent.parent
OUT = ROOT / "build" / "flink" / "stream_analytics"
JAR = "stream-analytics-connectors.jar"
# Pure-Python or manylinux wheels the job imports on the service besides PyFlink's own dependencies.
SERVICE_DEPENDENCIES = ("krcf", "boto3")
FORBIDDEN = ("numpy", "pandas", "pyarrow")


def _pins() -> list[str]:
    pins = {}
    for line in (ROOT / "requirements-flink.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if version:
            pins[name.strip().lower()] = line.strip()
    return [pins[name] for name in SERVICE_DEPENDENCIES]


def build_jar() -> Path:
    """mvn package; one clear line if Maven cannot resolve the connectors."""
    result = subprocess.run(  # noqa: S603
        ["mvn", "-q", "-B", "package", "-f", str(APP / "pom.xml")],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        unresolved = re.search(r"could not be resolved: (.+?): \S+:\S+:jar", result.stdout)
        if unresolved:
            raise SystemExit(
                f"flink-artifact: error: Maven could not resolve {unresolved.group(1)} from the registry it uses; "
                "the connector jar needs them (Maven Central has them)"
            )
        lines = [line for line in result.stdout.splitlines() if line.strip()] or ["(no output)"]
        raise SystemExit(f"flink-artifact: error: mvn package failed: {lines[-1].strip()}")
    return APP / "target" / JAR


def install_dependencies(target: Path) -> None:
    """The service's Python dependencies, unpacked into ``dep/`` for CPython 3.12 on manylinux x86_64."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "--python-version", "3.12",
        "--implementation", "cp", "--only-binary=:all:", "--platform", "manylinux2014_x86_64",
        "--platform", "manylinux_2_28_x86_64", "-c", str(ROOT / "constraints-flink.txt"), *_pins(),
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603
    shipped = [path.name for path in target.iterdir() if path.name.split("-")[0].lower() in FORBIDDEN]
    if shipped:
        raise SystemExit(f"flink-artifact: error: dep/ must not contain {', '.join(shipped)} (PyFlink brings them)")


def main(argv: list[str] | None = None) -> int:
    """Build the artifact directory."""
    parser = argparse.ArgumentParser(prog="flink-artifact", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jar",
        choices=("required", "optional"),
        default="required",
        help="optional: lay out the Python part even when Maven cannot build the jar (for synthesis only; "
        "the application cannot start without lib/)",
    )
    args = parser.parse_args(argv)
    try:
        jar: Path | None = build_jar()
    except SystemExit as error:
        if args.jar == "required":
            raise
        print(f"{error}; continuing without lib/{JAR} (--jar optional): do not deploy this artifact", file=sys.stderr)
        jar = None
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    shutil.copy2(APP / "main.py", OUT / "main.py")
    shutil.copytree(APP / "stream_analytics", OUT / "stream_analytics", ignore=shutil.ignore_patterns("__pycache__"))
    if jar is not None:
        (OUT / "lib").mkdir()
        shutil.copy2(jar, OUT / "lib" / JAR)
    install_dependencies(OUT / "dep")
    parts = f"main.py, stream_analytics/, {'lib/' + JAR if jar else 'NO connector jar'}, dep/"
    print(f"flink-artifact: {OUT.relative_to(ROOT)} ({parts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
