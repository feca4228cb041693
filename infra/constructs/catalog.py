"""The lake's Glue Data Catalog database, and the account's catalog encryption where this environment manages it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct


def database_name(resource_prefix: str) -> str:
    """The Glue database of an environment, e.g. `ml_data_lake_sandbox` (Athena prefers underscores to hyphens)."""
    return resource_prefix.replace("-", "_")


class LakeCatalog(Construct):
    """A Glue database for the lake's tables; optionally the Data Catalog's encryption with the lake key.

    The Data Catalog encryption settings are one per account and region, not per database: when sandbox and prod
    share an account, only one of them may manage it (`glue.manage_catalog_encryption`), or each deploy would
    overwrite the other's.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        resource_prefix: str,
        environment: str,
        key: kms.IKey,
        manage_catalog_encryption: bool,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.database = glue.Database(
            self,
            "Database",
            database_name=database_name(resource_prefix),
            description=f"Tables of the ML data lake ({environment}): raw and curated zones.",
            removal_policy=removal,
        )
        self.encryption_settings: glue.CfnDataCatalogEncryptionSettings | None = None
        if manage_catalog_encryption:
            # The L1, not glue.Catalog.encrypt_account: that puts the resource at the stack's root under an ID of
            # its own; here it stays inside this construct and the database is created only once it applies.
            settings = glue.CfnDataCatalogEncryptionSettings
            self.encryption_settings = settings(
                self,
                "EncryptionSettings",
                catalog_id=Stack.of(self).account,
                data_catalog_encryption_settings=settings.DataCatalogEncryptionSettingsProperty(
                    encryption_at_rest=settings.EncryptionAtRestProperty(
                        catalog_encryption_mode="SSE-KMS", sse_aws_kms_key_id=key.key_arn
                    ),
                    # GetConnection returns passwords still encrypted, so reading a connection does not reveal one.
                    connection_password_encryption=settings.ConnectionPasswordEncryptionProperty(
                        kms_key_id=key.key_arn, return_connection_password_encrypted=True
                    ),
                ),
            )
            self.database.node.add_dependency(self.encryption_settings)
