"""The prebuilt SageMaker scikit-learn image: no Docker build is needed to synthesize or deploy the ML job.

The image lives in an AWS-owned ECR registry whose account differs by region. The map below is the `training`
scope of `1.4-2-py312` in the SageMaker Python SDK's `sagemaker-core/src/sagemaker/core/image_uri_config/sklearn.json`
(read in Nov 2026); the SDK's processors use that scope. The tag `1.4-2-py312-cpu-py3` is the Python 3.12 build
(Ubuntu 24.04, scikit-learn 1.4.2); the plain `1.4-2-cpu-py3` tag is Python 3.10 (aws/sagemaker-scikit-learn-container,
`docker/1.4-2/base/Dockerfile.cpu` before the Python 3.12 upgrade).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

REPOSITORY = "sagemaker-scikit-learn"
TAG = "1.4-2-py312-cpu-py3"
PYTHON = "3.12"

REGISTRY_ACCOUNTS = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def registry_account(scope: Construct) -> str:
    """The account of the image's registry in `scope`'s region: a literal when the region is known, else a lookup.

    An environment-agnostic stack gets a CloudFormation mapping keyed by `AWS::Region`, so one template deploys
    to any region the image is published in (and fails to deploy, naming the region, in any other).
    """
    stack = Stack.of(scope)
    if stack.region in REGISTRY_ACCOUNTS:
        return REGISTRY_ACCOUNTS[stack.region]
    existing = stack.node.try_find_child("SklearnImageRegistries")
    mapping = (
        existing
        if isinstance(existing, CfnMapping)
        else CfnMapping(
            stack,
            "SklearnImageRegistries",
            mapping={region: {"account": account} for region, account in REGISTRY_ACCOUNTS.items()},
            lazy=True,
        )
    )
    return mapping.find_in_map(Aws.REGION, "account")


def image_uri(scope: Construct) -> str:
    """The image URI in `scope`'s region, e.g. `683313688378.dkr.ecr.us-east-1.amazonaws.com/<repository>:<tag>`."""
    stack = Stack.of(scope)
    return f"{registry_account(scope)}.dkr.ecr.{stack.region}.{stack.url_suffix}/{REPOSITORY}:{TAG}"


def repository_arn(scope: Construct) -> str:
    """The image's ECR repository, for the pull permissions of the job's role."""
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:ecr:{stack.region}:{registry_account(scope)}:repository/{REPOSITORY}"
