"""How the gate runs its external tools (cfn-lint, checkov, cfn-guard): on copies of the templates, remembered.

Each tool reads copies of the templates written under stable names (`<environment>/<stack>.template.json`) in a
scratch folder, so its output names no folder of this machine. What a tool prints is then a function of what it read
alone: the tool and its version, its configuration, and the text of those copies. A `ToolCache` keeps each output
under the hash of all of that, and a later run over the same text reads it back instead of starting the tool again.

`make security` starts every tool every time; the test session passes a cache (in the clone, `.cache/`), so a test
run after a change starts only the tools whose templates or configuration changed. A new version of a tool (for
cfn-guard, of the pinned package that ships its rules), another configuration or argument, or a changed template
misses the cache by construction. What a tool reads from outside the clone (a user's own `~/.cfnlintrc`) is not in
the key: `make clean` empties the cache.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.security.model import ALL_ENVIRONMENTS


def copy_name(environment: str, stack: str) -> str:
    """The name a template's copy has in the scratch folder, and in the tools' output."""
    if environment == ALL_ENVIRONMENTS or "/" in environment or "/" in stack:
        raise ValueError(f"environment {environment!r} / stack {stack!r}: a template copy needs plain names")
    return f"{environment}/{stack}.template.json"


@dataclass(frozen=True)
class ToolCache:
    """Outputs of the external tools by the hash of everything they read: the `keep` most recently used (a test session
    writes ten, about 0.4 MB, after a template change)."""

    directory: Path
    keep: int = 60

    def key(self, tool: Sequence[str], files: Mapping[str, str]) -> str:
        """The hash of a tool's identity (name, version, configuration, arguments) and of the files it reads."""
        digest = hashlib.sha256()
        digest.update(json.dumps(list(tool)).encode())
        for name in sorted(files):
            digest.update(json.dumps([name, hashlib.sha256(files[name].encode()).hexdigest()]).encode())
        return digest.hexdigest()

    def read(self, key: str) -> str | None:
        entry = self.directory / f"{key}.gz"
        try:
            text = gzip.decompress(entry.read_bytes()).decode()
        except (OSError, EOFError, UnicodeDecodeError):
            return None
        os.utime(entry)  # used now: among the last to go
        return text

    def write(self, key: str, output: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then renamed: a test worker reading at the same time sees all or none.
        with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp", delete=False) as scratch:
            scratch.write(gzip.compress(output.encode(), compresslevel=1))
        os.replace(scratch.name, self.directory / f"{key}.gz")
        self._forget_least_used()

    def _forget_least_used(self) -> None:
        used: list[tuple[float, Path]] = []
        for entry in self.directory.glob("*.gz"):
            with contextlib.suppress(FileNotFoundError):  # another worker removed it first
                used.append((entry.stat().st_mtime, entry))
        for _, entry in sorted(used, reverse=True)[self.keep :]:
            entry.unlink(missing_ok=True)


def run_on_copies(
    tool: Sequence[str],
    files: Mapping[str, str],
    run: Callable[[Path], str],
    cache: ToolCache | None = None,
) -> str:
    """`run(folder)`'s output, where `folder` holds `files` (relative name -> text); from `cache` when it has it.

    `tool` names everything else the output depends on (the tool, its version, its configuration and arguments).
    `run` raises when the tool fails, so only a complete output is kept.
    """
    key = cache.key(tool, files) if cache else ""
    if cache and (remembered := cache.read(key)) is not None:
        return remembered
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        output = run(folder)
    if cache:
        cache.write(key, output)
    return output
