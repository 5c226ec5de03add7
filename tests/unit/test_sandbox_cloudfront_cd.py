"""The sandbox's CloudFront continuous deployment operations, held against botocore's service model.

moto parses each request and serializes each answer from botocore's model; what can still go wrong is an
operation the sandbox names that AWS does not have, or a handler reading a parameter the operation does not
take (it would read None forever, and the sandbox would accept what AWS refuses).
"""

from __future__ import annotations

import inspect
import re

import botocore.session
import pytest
from moto.cloudfront.responses import CloudFrontResponse

from golive.routers import cloudfront as router_module
from golive.sandbox.cloudfront_cd import MAX_WEIGHT, OPERATIONS, StagingCloudFrontResponse

MODEL = botocore.session.get_session().get_service_model("cloudfront")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_added_operation_is_cloudfronts_and_reads_only_its_own_parameters(operation: str) -> None:
    model = MODEL.operation_model(operation)
    handler = getattr(StagingCloudFrontResponse, _snake(operation))
    read = set(re.findall(r'_get_param\("([A-Za-z]+)', inspect.getsource(handler)))
    assert read, operation
    assert read <= set(model.input_shape.members), (operation, read - set(model.input_shape.members))
    assert read >= set(model.input_shape.required_members), operation


def test_every_cloudfront_call_the_router_makes_is_served() -> None:
    called = set(re.findall(r'_call\("([A-Za-z]+)"', inspect.getsource(router_module)))
    assert {"CopyDistribution", "CreateContinuousDeploymentPolicy", "UpdateContinuousDeploymentPolicy",
            "UpdateDistribution", "UpdateDistributionWithStagingConfig", "GetContinuousDeploymentPolicy"} <= called
    for operation in called:
        MODEL.operation_model(operation)  # AWS has it
        served = _snake(operation) in vars(StagingCloudFrontResponse) or _snake(operation) in vars(CloudFrontResponse)
        assert served, f"the sandbox does not serve {operation}"


def test_the_policy_golive_sends_is_well_formed_for_the_model() -> None:
    from botocore.validate import ParamValidator

    shape = MODEL.operation_model("CreateContinuousDeploymentPolicy").input_shape
    for traffic in ({"Type": "SingleHeader", "SingleHeaderConfig": {"Header": router_module.DEFAULT_HEADER, "Value": "smoke"}},
                    {"Type": "SingleWeight", "SingleWeightConfig": {"Weight": router_module.MAX_WEIGHT / 100}}):
        config = {"StagingDistributionDnsNames": {"Quantity": 1, "Items": ["d1.cloudfront.net"]}, "Enabled": True,
                  "TrafficConfig": traffic}
        report = ParamValidator().validate({"ContinuousDeploymentPolicyConfig": config}, shape)
        assert not report.has_errors(), report.generate_report()
    assert router_module.MAX_WEIGHT / 100 == MAX_WEIGHT
