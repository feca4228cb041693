"""Print what `cdk synth` produced: each stack with its resource count and the path of its template."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(outdir: Path) -> list[tuple[str, int, Path]]:
    """(stack name, resource count, template path) for every stack at `outdir`, in the manifest's deployment order."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    rows = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = outdir / artifact["properties"]["templateFile"]
        resources = json.loads(template.read_text()).get("Resources", {})
        name = artifact.get("displayName") or artifact["properties"].get("stackName") or template.stem
        rows.append((name, len(resources), template))
    return rows


def main(argv: list[str]) -> int:
    """Print the summary table for the assembly directory given as the only argument."""
    outdir = Path(argv[0] if argv else "cdk.out")
    rows = summarize(outdir)
    width = max((len(name) for name, _, _ in rows), default=5)
    print(f"{'stack':<{width}}  resources  template")
    for name, count, template in rows:
        print(f"{name:<{width}}  {count:>9}  {template}")
    print(f"{len(rows)} stack(s), {sum(count for _, count, _ in rows)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
