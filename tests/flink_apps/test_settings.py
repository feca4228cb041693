"""Property groups → settings: defaults like KDA's, and one clear line for every bad value."""

from __future__ import annotations

import json

import pytest
from stream_analytics.settings import (
    ForestSettings,
    SettingsError,
    groups_from_document,
    load_groups,
    parse_forest,
    parse_hotspots,
    parse_settings,
)

from tests.flink_apps.conftest import APP_DIR


def test_given_the_shipped_properties_when_parsed_then_every_group_is_valid() -> None:
    settings = parse_settings(load_groups(APP_DIR / "application_properties.json"))

    assert settings.source.efo_consumer_name
    assert settings.source.stream_arn.startswith("arn:aws:kinesis:")
    assert settings.source.initial_position == "LATEST"
    assert settings.forest == ForestSettings(history_size=1024)
    assert settings.hotspots.window_size == 500


def test_given_no_forest_group_when_parsed_then_kda_like_defaults_apply() -> None:
    forest = parse_forest({})

    assert (forest.trees, forest.sample_size, forest.shingle_size, forest.time_decay) == (100, 256, 4, 100_000.0)


@pytest.mark.parametrize(
    ("group", "key", "value", "message"),
    [
        ("app.forest", "trees", "0", "app.forest.trees: '0' is not allowed; use a whole number from 1 to 1000"),
        (
            "app.forest",
            "shingle.size",
            "four",
            "app.forest.shingle.size: 'four' is not allowed; use a whole number from 1 to 30",
        ),
        (
            "app.forest",
            "sample.size",
            "5000",
            "app.forest.sample.size: '5000' is not allowed; use a whole number from 10 to 1000",
        ),
        (
            "app.hotspots",
            "window.size",
            "50",
            "app.hotspots.window.size: '50' is not allowed; use a whole number from 100 to 1000",
        ),
        (
            "app.hotspots",
            "scan.radius",
            "0",
            "app.hotspots.scan.radius: '0' is not allowed; use a number greater than 0 (like DBSCAN's epsilon)",
        ),
    ],
)
def test_given_a_bad_value_when_parsed_then_one_line_names_group_key_value_and_range(
    group: str, key: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_forest({group: {key: value}}) if group == "app.forest" else parse_hotspots({group: {key: value}})

    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_given_min_points_above_the_window_when_parsed_then_refused() -> None:
    with pytest.raises(
        SettingsError, match=r"app.hotspots.min.points: '600' is not allowed; use a whole number from 2 to 200"
    ):
        parse_hotspots({"app.hotspots": {"window.size": "200", "min.points": "600"}})


def test_given_a_bad_initial_position_when_parsed_then_the_allowed_values_are_listed() -> None:
    groups = load_groups(APP_DIR / "application_properties.json")
    groups["app.source"]["initial.position"] = "AT_TIMESTAMP"

    with pytest.raises(
        SettingsError,
        match=r"app.source.initial.position: 'AT_TIMESTAMP' is not allowed; use one of LATEST, TRIM_HORIZON",
    ):
        parse_settings(groups)


def test_given_a_missing_stream_arn_when_parsed_for_the_service_then_the_key_is_named() -> None:
    groups = load_groups(APP_DIR / "application_properties.json")
    del groups["app.source"]["stream.arn"]

    with pytest.raises(SettingsError, match=r"^app.source.stream.arn: missing"):
        parse_settings(groups)


def test_given_a_malformed_document_when_loaded_then_refused(tmp_path: object) -> None:
    with pytest.raises(SettingsError, match="property group 0"):
        groups_from_document([{"PropertyGroupId": "app.forest"}])


def test_given_a_local_run_without_paths_when_parsed_then_refused(tmp_path: object) -> None:
    document = [{"PropertyGroupId": "app.reference", "PropertyMap": {"path": "devices.csv"}}]

    with pytest.raises(SettingsError, match=r"local\.path"):
        parse_settings(groups_from_document(json.loads(json.dumps(document))), local=True)
