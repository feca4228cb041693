"""The report as static HTML: tables and PNG figures, no JavaScript; every value from the data is escaped."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

STYLE: Final = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .5em}
th{background:#f3f3f3;text-align:left}td.num{text-align:right}img{max-width:100%;border:1px solid #eee}
.note{color:#555;font-size:.9em}.verdict{background:#eef6ee;border-left:4px solid #31a354;padding:.5em 1em}
nav a{margin-right:1em}
"""


def esc(value: object) -> str:
    """HTML-escaped text of a value."""
    return html.escape(str(value), quote=True)


def fmt(value: object) -> str:
    """A number short enough for a table; anything else as text."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "-"
        return f"{float(value):.4g}"
    return str(value)


def table(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> str:
    """An HTML table of dict rows."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            numeric = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if numeric else ''}>{esc(fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def frame_table(frame: pd.DataFrame) -> str:
    """An HTML table of a DataFrame (escaped; numbers shortened)."""
    rows = [{str(k): v for k, v in record.items()} for record in frame.to_dict(orient="records")]
    return table(rows, [str(c) for c in frame.columns])


def figure(name: str, alt: str) -> str:
    """An image tag for a PNG next to the report."""
    return f'<p><img src="{esc(name)}" alt="{esc(alt)}"></p>'


def section(anchor: str, title: str, *parts: str) -> str:
    """A titled section."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def paragraph(text: str, css: str = "") -> str:
    """A paragraph of escaped text."""
    return f"<p{f' class={css}' if css else ''}>{esc(text)}</p>"


def page(title: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole page: a title, a table of contents and the sections (anchor, title, html)."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(content for _, _, content in sections)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1><nav>{links}</nav>{body}</body></html>"
    )


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """JSON with NaN and infinities as null (strict JSON readers reject them)."""
    path.write_text(json.dumps(_clean(document), indent=2), encoding="utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
