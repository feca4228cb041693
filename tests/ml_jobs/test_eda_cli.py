"""The entry point on tables that are not the lake's, and its one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_jobs.eda import cli
from ml_jobs.eda.sources import read_table


def _customers(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A table with awkward names, yes/no, text categories, an ordinal scale, gaps, and a learnable target."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, rows)
    visits = rng.poisson(3, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    churned = np.where((spend < 60) & (visits < 3) | (rng.random(rows) < 0.05), "yes", "no")
    frame = pd.DataFrame(
        {
            "Monthly spend (€)": spend.round(2),
            "visits/month": visits,
            "plan type": plan,
            "satisfaction": rng.choice(["low", "medium", "high"], rows),
            "Churned?": churned,
            "signup": pd.date_range("2026-01-01", periods=rows, freq="6h").strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    frame.loc[rng.choice(rows, 20, replace=False), "Monthly spend (€)"] = np.nan
    return frame


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    return cli.main(argv, stderr=err), err.getvalue()


@pytest.fixture(scope="module")
def customers_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("customers")
    _customers().to_csv(folder / "customers.csv", index=False)
    status, err = _run(
        [
            "--input",
            str(folder / "customers.csv"),
            "--target",
            "Churned?",
            "--out",
            str(folder / "out"),
            "--trees",
            "20",
        ]
    )
    assert status == 0, err
    return folder / "out"


def test_any_table_gets_every_section_and_a_model_better_than_the_baselines(customers_report: Path) -> None:
    # Given a CSV with spaces and punctuation in its names, a yes/no target and a time column; when analysed
    metrics = json.loads((customers_report / "metrics.json").read_text())
    page = (customers_report / "index.html").read_text()

    # Then the kinds are the expected ones, every section is there, names are escaped, and no script runs
    kinds = {k["name"]: (k["kind"], k["role"]) for k in metrics["kinds"]}
    assert kinds == {
        "Monthly spend (€)": ("numerical continuous", "feature"),
        "visits/month": ("numerical discrete", "feature"),
        "plan type": ("logical", "feature"),
        "satisfaction": ("ordinal", "feature"),
        "Churned?": ("logical", "feature"),
        "signup": ("numerical continuous", "time"),
    }
    for title in ("Kinds of data", "The data with pandas", "Distributions", "Time series", "Features and a model"):
        assert title in page
    assert "<script" not in page
    assert metrics["missing"][0] == {**metrics["missing"][0], "column": "Monthly spend (€)", "missing": 20}
    forest = metrics["model"]["metrics"]["random_forest"]
    assert forest["f1"] > metrics["model"]["metrics"]["majority_class"]["f1"]
    assert forest["roc_auc"] > 0.8
    assert metrics["model"]["label"]["positive"] == "yes"


def test_the_registry_object_has_what_the_registry_item_needs(customers_report: Path) -> None:
    registry = json.loads((customers_report / "metrics.json").read_text())["registry"]
    assert registry["model_name"] == "churned-classifier"
    assert registry["artifact"] == "model.skops"
    assert registry["training_start"] < registry["training_end"]
    assert {"precision", "recall", "f1", "roc_auc"} <= set(registry["metrics"])
    assert "Monthly spend (€)" in registry["features"]
    assert all(isinstance(v, str | int | float | list | dict) for v in registry.values())


def test_the_model_file_loads_without_pickle_and_predicts(customers_report: Path) -> None:
    # Given the saved model; when loaded with skops, trusting only what it lists after review
    import skops.io as sio  # a second of import: only the worker that runs this test pays it

    path = customers_report / "model.skops"
    untrusted = sio.get_untrusted_types(file=path)
    assert all(name.startswith(("numpy.", "sklearn.", "builtins.")) for name in untrusted), untrusted
    model = sio.load(path, trusted=untrusted)
    card = json.loads((customers_report / "model_card.json").read_text())

    # Then it predicts the classes of the table from the features its card lists
    frame = _customers(50, seed=9)
    frame["signup"] = pd.to_datetime(frame["signup"], utc=True)
    hours = frame["signup"].dt.hour + frame["signup"].dt.minute / 60
    frame = frame.assign(
        hour_sin=np.sin(2 * np.pi * hours / 24),
        hour_cos=np.cos(2 * np.pi * hours / 24),
        day_of_week=frame["signup"].dt.dayofweek.astype(float),
    )
    assert set(model.predict(frame[card["features"]])) <= {"yes", "no"}
    assert card["libraries"]["scikit-learn"] == "1.4.2"
    assert card["training_window"]["end"] < card["test_window"]["start"]


def test_without_a_target_the_model_section_is_skipped(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a b": [1.5, 2.5, 3.25, None], "yes/no": ["Y", "N", "Y", "Y"]})
    frame.to_parquet(tmp_path / "tiny.parquet")
    status, err = _run(["--input", str(tmp_path / "tiny.parquet"), "--out", str(tmp_path / "out")])
    assert status == 0, err
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["model"] is None
    assert metrics["registry"] is None
    assert metrics["timeseries"] is None
    assert "the model section is skipped" in (tmp_path / "out" / "index.html").read_text()
    assert not (tmp_path / "out" / "model.skops").exists()


def test_a_folder_of_csv_files_is_one_table(tmp_path: Path) -> None:
    for part in range(2):
        (tmp_path / "in" / f"part={part}").mkdir(parents=True)
        pd.DataFrame({"x": [part, part + 1]}).to_csv(tmp_path / "in" / f"part={part}" / "data.csv", index=False)
    assert len(read_table(tmp_path / "in")) == 4


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        (None, ["--input", "missing.csv"], "--input: 'missing.csv' does not exist; give a CSV or Parquet file"),
        ("notes.txt", ["--input", "notes.txt"], "--input: 'notes.txt' is neither CSV"),
        (
            "t.csv",
            ["--input", "t.csv", "--target", "nope"],
            "--target: no column 'nope' in the input (columns: 'x', 'y')",
        ),
        (
            "t.csv",
            ["--input", "t.csv", "--target", "x"],
            "--target: column 'x' has 30 distinct values; the model classifies",
        ),
        ("t.csv", ["--input", "t.csv", "--kind", "y=round"], "--kind: 'round' in 'y=round' is not a kind"),
        ("t.csv", ["--input", "t.csv", "--time", "y"], "--time: column 'y' has 30 values that are not ISO-8601 times"),
        ("t.csv", ["--input", "t.csv", "--target", "error_within_1h"], "--target: error_within_1h is derived from"),
        ("t.csv", ["--athena-table", "db.t"], "--workgroup: required with --athena-table"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag_the_value_and_what_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str | None, argv: list[str], message: str
) -> None:
    # Given a table of 30 rows (x a whole number, y a word), or a file of another kind
    monkeypatch.chdir(tmp_path)
    if make == "t.csv":
        pd.DataFrame({"x": range(30), "y": [f"w{n}" for n in range(30)]}).to_csv("t.csv", index=False)
    elif make:
        Path(make).write_text("hello")
    # When the entry point runs, then it exits 2 with one line
    status, err = _run([*argv, "--out", "out"])
    assert status == 2
    assert err.splitlines()[-1].startswith(f"{cli.PROG}: error: {message}")


def test_the_same_data_gives_the_same_model_version(customers_report: Path, tmp_path: Path) -> None:
    # Given the customers table analysed a second time with the same settings
    _customers().to_csv(tmp_path / "customers.csv", index=False)
    argv = ["--input", str(tmp_path / "customers.csv"), "--target", "Churned?", "--trees", "20"]
    status, err = _run([*argv, "--out", str(tmp_path / "again")])
    assert status == 0, err

    # Then the registry gets the same version and metrics (the skops bytes may differ; its digest is in the card)
    first = json.loads((customers_report / "metrics.json").read_text())["registry"]
    second = json.loads((tmp_path / "again" / "metrics.json").read_text())["registry"]
    assert first["model_version"] == second["model_version"]
    assert first["metrics"] == second["metrics"]
