"""A Glue network connection that runs a job's workers in one isolated subnet of the lake's VPC."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.managed_policy_role import ManagedPolicyRole

# The tag Glue puts on the network interfaces it creates for a job, and the only one its role may set.
GLUE_ENI_TAG = "aws-glue-service-resource"
# What Glue reads about the network before it places the workers (AWS's own Glue service role lists these).
DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpoints",
)


class GlueVpcConnection(Construct):
    """A NETWORK connection in `subnet`, and the security group of the workers: each other on any TCP port, and
    HTTPS out, which in an isolated subnet reaches only the S3 gateway endpoint and the interface endpoints.
    """

    def __init__(self, scope: Construct, id: str, *, name: str, vpc: ec2.IVpc, subnet: ec2.ISubnet) -> None:
        super().__init__(scope, id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"Workers of Glue jobs on connection {name}: each other, and HTTPS to the VPC endpoints.",
            allow_all_outbound=False,
        )
        # Glue requires the self-referencing rules: Spark's driver and executors talk on ports it picks.
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_tcp(), "Spark workers of one job")
        self.security_group.add_egress_rule(self.security_group, ec2.Port.all_tcp(), "Spark workers of one job")
        # The subnet routes nowhere but the VPC and the S3 gateway endpoint, whose addresses (a prefix list) cannot
        # be named offline; any-address HTTPS therefore reaches exactly the endpoints.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the VPC endpoints")
        self.subnet = subnet
        self.connection = glue.Connection(
            self,
            "Connection",
            type=glue.ConnectionType.NETWORK,
            connection_name=name,
            description="Runs Glue job workers in the lake's isolated subnet; no route to the internet.",
            security_groups=[self.security_group],
            network=glue.ConnectionNetwork.subnet(subnet),
        )
        self.name = name

    def grant_network_interfaces(self, role: ManagedPolicyRole) -> None:
        """Let a job's role create the workers' network interfaces in this subnet and security group, and no other."""
        stack = Stack.of(self)
        interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        subnet = stack.format_arn(service="ec2", resource="subnet", resource_name=self.subnet.subnet_id)
        group = stack.format_arn(
            service="ec2", resource="security-group", resource_name=self.security_group.security_group_id
        )
        connection = stack.format_arn(service="glue", resource="connection", resource_name=self.name)
        catalog = stack.format_arn(service="glue", resource="catalog")
        for statement in (
            iam.PolicyStatement(actions=["ec2:CreateNetworkInterface"], resources=[interfaces, subnet, group]),
            iam.PolicyStatement(actions=["ec2:DeleteNetworkInterface"], resources=[interfaces]),
            iam.PolicyStatement(
                actions=["ec2:CreateTags", "ec2:DeleteTags"],
                resources=[interfaces],
                conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [GLUE_ENI_TAG]}},
            ),
            iam.PolicyStatement(actions=["glue:GetConnection"], resources=[catalog, connection]),
            # The EC2 Describe actions have no resource type in IAM (the job acknowledges its '*' resources).
            iam.PolicyStatement(actions=list(DESCRIBE_ACTIONS), resources=["*"]),
        ):
            role.add_to_principal_policy(statement)
        role.acknowledge_wildcard_resources(
            interfaces,
            reason="Glue creates, tags and deletes the workers' network interfaces at run time under IDs it picks; "
            "creating one also needs this connection's subnet and security group, named exactly.",
        )
