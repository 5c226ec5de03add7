"""``providers.lambdas.LambdaClient`` against a real moto server: selecting functions, versions, alias routing."""

from __future__ import annotations

import pytest
from test_checks_aws import make_functions

from golive.errors import UsageError
from golive.providers.aws import Aws, AwsTarget
from golive.providers.lambdas import LambdaClient

REGION = "eu-west-1"


@pytest.fixture
def lam(moto_reset: str) -> LambdaClient:
    aws = Aws(AwsTarget(region=REGION, endpoint_url=moto_reset))
    make_functions(aws, ["api-orders-prod", "api-products-prod", "web-prod"], tags={"team": "api"})
    make_functions(aws, ["api-orders-sit"])
    return LambdaClient(aws)


def test_select_by_prefix_suffix_names_and_tag(lam: LambdaClient) -> None:
    assert lam.select({"prefix": "api-", "suffix": "-prod"}) == ["api-orders-prod", "api-products-prod"]
    assert lam.select({"names": ["b", "a"]}) == ["a", "b"]
    assert lam.select({"tag": {"team": "api"}}) == ["api-orders-prod", "api-products-prod", "web-prod"]
    assert lam.function_state("web-prod") == "Active"
    assert lam.function_configuration("missing-function") is None


def test_versions_alias_weights_and_restore(lam: LambdaClient) -> None:
    fn = "api-orders-prod"
    first = lam.publish_version(fn)
    lam.aws.client("lambda").create_alias(FunctionName=fn, Name="live", FunctionVersion=first)
    with pytest.raises(UsageError, match="no version newer"):
        lam.find_versions(fn, "live")
    lam.aws.client("lambda").update_function_configuration(FunctionName=fn, Description="the release")
    second = lam.publish_version(fn, "the release")
    assert second != first
    assert lam.latest_version(fn) == int(second)
    assert lam.find_versions(fn, "live") == (first, second)

    lam.set_alias_weight(fn, "live", first, second, 10)
    state = lam.get_alias_routing(fn, "live")
    assert (state.version, state.weights, state.shifted) == (first, {second: 0.1}, True)
    assert lam.find_versions(fn, "live") == (first, second)  # a canary in progress keeps its versions

    seconds, confirmed = lam.restore({fn: {"stable": first, "canary": second}}, "live")
    assert seconds >= 0 and confirmed[0].version == first and not confirmed[0].weights

    lam.set_alias_weight(fn, "live", first, second, 100)
    assert lam.get_alias_routing(fn, "live").to_dict() == {"function": fn, "alias": "live", "version": second,
                                                          "weights": {}}
