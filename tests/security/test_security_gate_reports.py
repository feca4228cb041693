"""What the gate writes: a summary a reviewer can sign off, findings.json for machines, SARIF for code scanning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.conftest import Reviewed
from tools.security import __main__ as cli
from tools.security import gate
from tools.security.model import Report

pytestmark = pytest.mark.xdist_group("security")


def test_the_summary_tables_findings_per_environment_and_stack_with_status_and_reason(reviewed: Reviewed) -> None:
    summary = (reviewed.out / "summary.md").read_text()
    assert "**Result: FAILED.**" in summary
    assert "## Totals" in summary
    assert "| throwaway | cdk-nag | NIST 800-53 rev 5 |" in summary
    assert "| throwaway | cfn-guard | AWS Control Tower proactive controls |" in summary
    assert "| cdk-nag | AWS Control Tower" not in summary
    assert "## To fix" in summary
    assert "## throwaway" in summary
    assert "### Throwaway" in summary
    assert "### Accepted" in summary
    assert "| tool | rule | resource | severity | status | reason |" in summary
    assert (
        "| cdk-nag | `AwsSolutions-S1` | `Logged/Resource` | error | acknowledged "
        "| This test bucket holds nothing and exists only for the test. |"
    ) in summary
    assert "| cdk-nag | `AwsSolutions-S10` | `NoTls/Resource` | error | **unacknowledged** |  |" in summary


def test_the_summary_lists_every_acknowledgment_with_where_it_is_made_and_what_it_accepts(reviewed: Reviewed) -> None:
    summary = (reviewed.out / "summary.md").read_text()
    acknowledgments = summary.split("## Acknowledgments", 1)[1]
    assert (
        "| cdk-nag | `AwsSolutions-S1` | `Accepted/Logged` | throwaway: 1 "
        "| This test bucket holds nothing and exists only for the test. |"
    ) in acknowledgments
    assert "| cdk-nag | `AwsSolutions-SQS3` | `Accepted/Logged` | throwaway: 0 |" in acknowledgments
    assert "| cdk-nag | `AwsSolutions-S10` | `Accepted (the whole stack)` |" in acknowledgments
    assert "| cfn-lint | `W3005` | `.cfnlintrc.yaml` | *: " in acknowledgments
    assert "| checkov | `CKV_AWS_18` | `Accepted/Logged/Resource` | throwaway: 1 |" in acknowledgments
    assert "| cfn-guard | `CT.KMS.PR.1` | `Accepted/Logged/Resource` | throwaway: 0 |" in acknowledgments


def test_findings_json_has_one_schema_for_every_tool(reviewed: Reviewed) -> None:
    document = json.loads((reviewed.out / "findings.json").read_text())
    assert document["schema"] == "ml-data-lake/security-findings/v1"
    assert document["passed"] is False
    assert document["environments"] == ["throwaway"]
    assert set(document["tools"]) == {"cdk-nag", "cfn-lint", "checkov", "cfn-guard"}
    fields = {
        "tool", "ruleset", "environment", "stack", "rule", "resource", "logical_id",
        "severity", "status", "reason", "message", "template",
    }  # fmt: skip
    assert {f["tool"] for f in document["findings"]} == {"cdk-nag", "cfn-lint", "checkov", "cfn-guard"}
    for finding in document["findings"]:
        assert set(finding) == fields
        assert finding["status"] in {"unacknowledged", "acknowledged", "stale"}
        assert finding["severity"] in {"error", "warning", "info"}
    assert document["counts"]["stale"] == sum(f["status"] == "stale" for f in document["findings"]) >= 3


@pytest.mark.parametrize("tool", ["cdk-nag", "cfn-lint", "checkov", "cfn-guard"])
def test_each_tool_has_a_valid_sarif_2_1_0_log(reviewed: Reviewed, tool: str) -> None:
    log = json.loads((reviewed.out / f"{tool}.sarif").read_text())
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == tool
    rules = [rule["id"] for rule in driver["rules"]]
    assert len(rules) == len(set(rules))
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note"}
        assert result["message"]["text"]
        [location] = result["locations"]
        assert location["logicalLocations"][0]["fullyQualifiedName"]
        if result["properties"]["status"] == "acknowledged":
            assert result["suppressions"][0]["justification"]
        else:
            assert "suppressions" not in result


def test_sarif_points_at_the_line_of_the_resource_in_its_template(reviewed: Reviewed) -> None:
    log = json.loads((reviewed.out / "cdk-nag.sarif").read_text())
    result = next(
        r
        for r in log["runs"][0]["results"]
        if r["ruleId"] == "AwsSolutions-S10"
        and r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Throwaway/NoTls/Resource"
    )
    physical = result["locations"][0]["physicalLocation"]
    template = Path(physical["artifactLocation"]["uri"])
    line = template.read_text().splitlines()[physical["region"]["startLine"] - 1]
    finding = reviewed.find(tool="cdk-nag", rule="AwsSolutions-S10", resource="NoTls/Resource")[0]
    assert line.strip().startswith(f'"{finding.logical_id}": {{')


def test_the_command_exits_non_zero_and_writes_the_reports_when_a_finding_is_unaccepted(
    reviewed: Reviewed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(names: list[str], **_: object) -> Report:
        return reviewed.report

    monkeypatch.setattr(gate, "run", run)
    assert cli.main(["--env", "throwaway", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "UNACKNOWLEDGED: cdk-nag AwsSolutions-S10 at throwaway Throwaway/NoTls/Resource" in out
    assert "STALE: cdk-nag AwsSolutions-SQS3 at throwaway Accepted/Logged" in out
    assert "security: FAILED" in out
    assert {p.name for p in tmp_path.iterdir()} == {
        "summary.md", "findings.json", "cdk-nag.sarif", "cfn-lint.sarif", "checkov.sarif", "cfn-guard.sarif",
    }  # fmt: skip


def test_the_command_exits_zero_when_everything_is_fixed_or_acknowledged(
    reviewed: Reviewed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = Report(
        environments=reviewed.report.environments,
        findings=tuple(f for f in reviewed.report.findings if not f.fails),
        acknowledgments=reviewed.report.acknowledgments,
        versions=reviewed.report.versions,
        resources=reviewed.report.resources,
        checkov_passed=reviewed.report.checkov_passed,
    )
    monkeypatch.setattr(gate, "run", lambda names, **_: clean)
    assert cli.main(["--out", str(tmp_path)]) == 0
    assert "**Result: passed.**" in (tmp_path / "summary.md").read_text()
