"""The warehouse schema provider against botocore's Stubber: the statements each event starts, and the polling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.warehouse_schema import handler, statements

REGION = "eu-west-1"
ROLE = "arn:aws:iam::111111111111:role/Spectrum"
ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:redshift!ml-data-lake-test-lake_admin-AbCdEf"
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:eu-west-1:111111111111:function:provider",
    "WorkgroupName": "ml-data-lake-test",
    "NamespaceName": "ml-data-lake-test",
    "Database": "warehouse",
    "Schema": "lake",
    "CatalogDatabase": "ml_data_lake_test",
    "RoleArn": ROLE,
}
PHYSICAL_ID = "ml-data-lake-test/warehouse/lake"
CREATE = [
    f"CREATE EXTERNAL SCHEMA IF NOT EXISTS lake FROM DATA CATALOG DATABASE 'ml_data_lake_test' IAM_ROLE '{ROLE}'",
    "GRANT USAGE ON SCHEMA lake TO PUBLIC",
]
DROP = ["DROP SCHEMA IF EXISTS lake"]


@dataclass
class Clients:
    """The two stubbed clients the handlers use."""

    data: Stubber
    serverless: Stubber

    def expect_statements(self, sqls: list[str], *, name: str, statement_id: str = "stmt-1") -> None:
        self.serverless.add_response(
            "get_namespace",
            {"namespace": {"namespaceName": "ml-data-lake-test", "adminPasswordSecretArn": ADMIN_ARN}},
            {"namespaceName": "ml-data-lake-test"},
        )
        self.data.add_response(
            "batch_execute_statement",
            {"Id": statement_id, "WorkgroupName": "ml-data-lake-test", "Database": "warehouse"},
            {
                "WorkgroupName": "ml-data-lake-test",
                "Database": "warehouse",
                "SecretArn": ADMIN_ARN,
                "Sqls": sqls,
                "StatementName": name,
            },
        )


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    # A session of its own: the Stubber answers before any request is signed, so no credentials are involved, and
    # boto3's default session (which caches credentials) is left as other tests expect it.
    session = boto3.session.Session(region_name=REGION)
    data = session.client("redshift-data")
    serverless = session.client("redshift-serverless")
    monkeypatch.setattr(handler, "data_api", lambda: data)
    monkeypatch.setattr(handler, "serverless", lambda: serverless)
    with Stubber(data) as data_stub, Stubber(serverless) as serverless_stub:
        yield Clients(data_stub, serverless_stub)
        data_stub.assert_no_pending_responses()
        serverless_stub.assert_no_pending_responses()


def _event(request: str, **extra: Any) -> dict[str, Any]:
    return {"RequestType": request, "ResourceProperties": dict(PROPERTIES), **extra}


def test_create_starts_the_schema_and_its_grant_as_the_namespace_admin(clients: Clients) -> None:
    # Given a Create event; the admin secret is found through GetNamespace
    clients.expect_statements(CREATE, name="warehouse-schema-create")
    # When the on-event handler runs
    result = handler.on_event(_event("Create"), None)
    # Then it reports the schema's ID and the statement the is-complete handler polls
    assert result == {"PhysicalResourceId": PHYSICAL_ID, "Data": {"StatementId": "stmt-1"}}


def test_delete_drops_only_the_schema_never_the_catalog_database(clients: Clients) -> None:
    clients.expect_statements(DROP, name="warehouse-schema-delete", statement_id="stmt-2")
    result = handler.on_event(_event("Delete", PhysicalResourceId=PHYSICAL_ID), None)
    assert result["Data"] == {"StatementId": "stmt-2"}
    assert "CASCADE" not in DROP[0]
    assert "EXTERNAL DATABASE" not in DROP[0]


def test_an_update_that_remaps_the_schema_drops_and_creates_it_in_one_batch(clients: Clients) -> None:
    # Given the schema now maps another catalog database under the same name
    old = {**PROPERTIES, "CatalogDatabase": "ml_data_lake_old"}
    clients.expect_statements([*DROP, *CREATE], name="warehouse-schema-update")
    event = _event("Update", PhysicalResourceId=PHYSICAL_ID, OldResourceProperties=old)
    assert handler.on_event(event, None)["PhysicalResourceId"] == PHYSICAL_ID


def test_an_update_that_renames_the_schema_creates_the_new_one_and_leaves_the_old_to_delete(clients: Clients) -> None:
    renamed = {**PROPERTIES, "Schema": "lake_v2"}
    sqls = [sql.replace("lake ", "lake_v2 ") for sql in CREATE]
    clients.expect_statements(sqls, name="warehouse-schema-update")
    event = {
        "RequestType": "Update",
        "ResourceProperties": renamed,
        "OldResourceProperties": PROPERTIES,
        "PhysicalResourceId": PHYSICAL_ID,
    }
    # A new physical ID: CloudFormation then sends a Delete for the old schema
    assert handler.on_event(event, None)["PhysicalResourceId"] == "ml-data-lake-test/warehouse/lake_v2"


def test_deleting_what_a_failed_create_left_runs_nothing(clients: Clients) -> None:
    # Given a Delete for a resource whose Create failed before it reported a schema ID (no stub: no call is allowed)
    result = handler.on_event(_event("Delete", PhysicalResourceId="request-1234"), None)
    assert result == {"PhysicalResourceId": "request-1234", "Data": {"StatementId": ""}}


def test_deleting_when_the_namespace_is_already_gone_succeeds(clients: Clients) -> None:
    clients.serverless.add_client_error(
        "get_namespace", service_error_code="ResourceNotFoundException", service_message="namespace not found"
    )
    result = handler.on_event(_event("Delete", PhysicalResourceId=PHYSICAL_ID), None)
    assert result["Data"] == {"StatementId": ""}


def test_creating_when_the_namespace_is_missing_fails_the_deployment(clients: Clients) -> None:
    clients.serverless.add_client_error(
        "get_namespace", service_error_code="ResourceNotFoundException", service_message="namespace not found"
    )
    with pytest.raises(Exception, match="namespace not found"):
        handler.on_event(_event("Create"), None)


@pytest.mark.parametrize(
    ("status", "done"), [("SUBMITTED", False), ("PICKED", False), ("STARTED", False), ("FINISHED", True)]
)
def test_is_complete_follows_the_statement(clients: Clients, status: str, done: bool) -> None:
    clients.data.add_response("describe_statement", {"Id": "stmt-1", "Status": status}, {"Id": "stmt-1"})
    assert handler.is_complete(_event("Create", Data={"StatementId": "stmt-1"}), None) == {"IsComplete": done}


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_statement_fails_the_deployment_with_redshifts_error_text(clients: Clients, status: str) -> None:
    error = "ERROR: permission denied for database warehouse"
    clients.data.add_response(
        "describe_statement", {"Id": "stmt-1", "Status": status, "Error": error}, {"Id": "stmt-1"}
    )
    with pytest.raises(statements.StatementError, match=f"stmt-1 {status}: {error}"):
        handler.is_complete(_event("Create", Data={"StatementId": "stmt-1"}), None)


def test_nothing_started_is_complete_at_once(clients: Clients) -> None:
    assert handler.is_complete(_event("Delete", Data={"StatementId": ""}), None) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("field", "value"), [("Schema", "lake; DROP TABLE x"), ("CatalogDatabase", "Lake"), ("Schema", "")]
)
def test_a_name_that_is_not_a_plain_identifier_is_refused_before_any_sql(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}="):
        statements.plan("Create", {**PROPERTIES, field: value}, None, None)


def test_a_role_arn_with_a_quote_stays_one_literal() -> None:
    props = statements.SchemaProperties.parse({**PROPERTIES, "RoleArn": "arn:aws:iam::1:role/x'y"})
    assert statements.create_sqls(props)[0].endswith("IAM_ROLE 'arn:aws:iam::1:role/x''y'")
