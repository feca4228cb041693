"""`make security`: every environment through cdk-nag, cfn-lint, checkov and cfn-guard; exit 1 on anything unaccepted.

python -m tools.security [--env NAME ...] [--out reports/security] [--assemblies cdk.out/security]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools.security.checkov_findings import CHECKOV
from tools.security.model import ROOT, relative


def main(argv: list[str]) -> int:
    """Run the gate, write the reports, print what fails; 0 when nothing does, 1 when something does, 2 on error."""
    parser = argparse.ArgumentParser(prog="python -m tools.security", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", help="an environment of cdk.json (default: every one)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "security", help="where the reports go")
    parser.add_argument(
        "--assemblies", type=Path, default=ROOT / "cdk.out" / "security", help="where each environment is synthesized"
    )
    parser.add_argument("--checkov", type=Path, default=CHECKOV, help="the checkov executable")
    args = parser.parse_args(argv)

    # Imported here so that --help answers without starting the CDK's JavaScript runtime.
    from tools.security import gate, reports
    from tools.security.synthesis import environment_names

    started = time.monotonic()
    names = args.env or list(environment_names())
    try:
        report = gate.run(names, assemblies=args.assemblies, checkov=args.checkov)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    written = reports.write(report, args.out)
    for finding in report.failing:
        where = finding.resource if finding.environment == "*" else f"{finding.environment} {finding.resource}"
        print(
            f"{finding.status.upper()}: {finding.tool} {finding.rule} at {where}: {finding.reason or finding.message}"
        )
    counts = {s: sum(f.status == s for f in report.findings) for s in ("unacknowledged", "stale", "acknowledged")}
    print(
        f"security: {'passed' if report.passed else 'FAILED'} in {time.monotonic() - started:.0f} s: "
        f"{counts['unacknowledged']} unacknowledged, {counts['stale']} stale, {counts['acknowledged']} acknowledged "
        f"({', '.join(names)}); reports in {relative(args.out, ROOT)}/: {', '.join(p.name for p in written)}"
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
