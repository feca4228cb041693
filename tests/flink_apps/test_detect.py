"""``make detect``: every row scored, per key in time order, from the past only; clear errors for bad input."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from stream_analytics.detect import main


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ARGS = ["--trees", "20", "--sample-size", "64", "--shingle-size", "2", "--warmup", "32"]


def test_given_two_devices_shuffled_when_scored_then_every_row_is_kept_and_each_spike_stands_out(
    tmp_path: Path,
) -> None:
    rng = random.Random(4)
    rows: list[dict[str, object]] = []
    for second in range(150):
        for device in ("a", "b"):
            temperature = 45.0 if (device, second) == ("b", 140) else 20.0 + rng.gauss(0, 0.2)
            rows.append({"ts": f"2026-11-26T08:{second // 60:02d}:{second % 60:02d}Z", "dev": device, "t": temperature})
    rng.shuffle(rows)  # the file's order is not time order
    _write(tmp_path / "in.csv", rows)

    status = main(
        [
            "--input",
            str(tmp_path / "in.csv"),
            "--time",
            "ts",
            "--values",
            "t",
            "--key",
            "dev",
            "--output",
            str(tmp_path / "out.csv"),
            *ARGS,
        ]
    )

    scored = _read(tmp_path / "out.csv")
    assert status == 0
    assert [(row["ts"], row["dev"]) for row in scored] == [(str(row["ts"]), row["dev"]) for row in rows]
    top = max(scored, key=lambda row: float(row["anomaly_score"]))
    assert (top["dev"], top["ts"], top["warm"]) == ("b", "2026-11-26T08:02:20Z", "true")


def test_given_later_rows_changed_when_scored_then_earlier_scores_are_unchanged(tmp_path: Path) -> None:
    base = [{"n": index, "v": 10.0 + (index % 5) * 0.1} for index in range(80)]
    changed = [*base[:60], *({"n": row["n"], "v": 99.0} for row in base[60:])]
    for name, rows in (("base", base), ("changed", changed)):
        _write(tmp_path / f"{name}.csv", rows)
        assert (
            main(
                [
                    "--input",
                    str(tmp_path / f"{name}.csv"),
                    "--time",
                    "n",
                    "--values",
                    "v",
                    "--output",
                    str(tmp_path / f"{name}-out.csv"),
                    *ARGS,
                ]
            )
            == 0
        )

    before = [row["anomaly_score"] for row in _read(tmp_path / "base-out.csv")][:60]
    after = [row["anomaly_score"] for row in _read(tmp_path / "changed-out.csv")][:60]
    assert before == after


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--time", "when", "--values", "v"], "no column 'when'; the file has n, v"),
        (["--time", "n", "--values", ","], "VALUES: name at least one numeric column"),
    ],
)
def test_given_a_bad_request_when_run_then_one_line_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    _write(tmp_path / "in.csv", [{"n": 1, "v": 2.0}])

    status = main(["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"), *arguments])

    assert status == 2
    assert message in capsys.readouterr().err


def test_given_a_non_numeric_value_when_run_then_the_line_and_column_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "in.csv", [{"n": 1, "v": 2.0}, {"n": 2, "v": "hot"}])

    assert (
        main(["--input", str(tmp_path / "in.csv"), "--time", "n", "--values", "v", "--output", str(tmp_path / "o.csv")])
        == 2
    )
    assert "line 3: column 'v' has 'hot', not a number" in capsys.readouterr().err
