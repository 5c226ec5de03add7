"""The sandbox's REST APIs: provisioned as a plan's ``api:`` names them, and deployed as a deploy workflow does.

An API project's world before the release is a REST API with its routes, each an ``AWS_PROXY`` integration
invoking a Lambda function through its alias (or not: a route may invoke the bare function, which the preflight
check ``api_invokes_alias`` names), deployed once to its stage. A release's deploy then makes a new
deployment of the API *without moving the stage* (``CreateDeployment`` with no ``stageName``), which is what
golive's API Gateway canary (``routers/apigw_stage``) finds and shifts traffic to.

These are the world's writes, made through golive's ``Aws`` over HTTP like provisioning's others (a few calls
per API); the canary's own calls are golive's.
"""

from __future__ import annotations

from typing import Any

from golive.errors import AwsRequestError
from golive.providers.aws import Aws
from golive.sandbox.spec import ApiSpec, RouteSpec


def invocation_uri(region: str, account_id: str, function: str, qualifier: str | None) -> str:
    """The integration URI of an ``AWS_PROXY`` integration invoking ``function`` (``:qualifier`` if given)."""
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{function}" + (f":{qualifier}" if qualifier else "")
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def find_api(aws: Aws, name: str) -> str | None:
    client = aws.client("apigateway")
    items = aws.call("apigateway:GetRestApis", lambda: client.get_rest_apis(limit=500).get("items", []))
    return next((str(i["id"]) for i in items if i.get("name") == name), None)


def ensure_api(aws: Aws, spec: ApiSpec, account_id: str) -> str:
    """Create the REST API with its routes and its stage on a first deployment, unless it exists: its id."""
    found = find_api(aws, spec.name)
    if found is not None:
        return found
    client = aws.client("apigateway")
    api = aws.call("apigateway:CreateRestApi", lambda: client.create_rest_api(name=spec.name))
    api_id = str(api["id"])
    resources = aws.call("apigateway:GetResources", lambda: client.get_resources(restApiId=api_id))
    ids = {str(r["path"]): str(r["id"]) for r in resources.get("items", [])}
    for route in spec.routes:
        _route(aws, client, api_id, ids, route, account_id)
    aws.call("apigateway:CreateDeployment", lambda: client.create_deployment(
        restApiId=api_id, stageName=spec.stage, description="before the release"))
    return api_id


def _route(aws: Aws, client: Any, api_id: str, ids: dict[str, str], route: RouteSpec, account_id: str) -> None:
    path = ""
    for part in [p for p in route.path.split("/") if p]:
        parent, path = ids[path or "/"], f"{path}/{part}"
        if path not in ids:
            made = aws.call("apigateway:CreateResource", lambda parent=parent, part=part: client.create_resource(  # type: ignore[misc]
                restApiId=api_id, parentId=parent, pathPart=part))
            ids[path] = str(made["id"])
    resource = ids[path or "/"]
    aws.call("apigateway:PutMethod", lambda: client.put_method(
        restApiId=api_id, resourceId=resource, httpMethod=route.method, authorizationType="NONE"))
    uri = invocation_uri(aws.region, account_id, route.function, route.qualifier)
    aws.call("apigateway:PutIntegration", lambda: client.put_integration(
        restApiId=api_id, resourceId=resource, httpMethod=route.method, type="AWS_PROXY",
        integrationHttpMethod="POST", uri=uri))


def new_deployment(aws: Aws, api_name: str, *, description: str = "release", stage: str | None = None,
                   canary_percent: float | None = None) -> str:
    """A deploy's new deployment of the API: the stage stays where it is (with ``stage`` and
    ``canary_percent``, the deployment becomes the stage's canary at that weight). Its id."""
    api_id = find_api(aws, api_name)
    if api_id is None:
        raise AwsRequestError("apigateway:CreateDeployment", aws.region, "NotFoundException",
                              f"no REST API named {api_name}")
    client = aws.client("apigateway")
    if stage is not None and canary_percent is not None:
        made = aws.call("apigateway:CreateDeployment", lambda: client.create_deployment(
            restApiId=api_id, stageName=stage, description=description,
            canarySettings={"percentTraffic": canary_percent}))
    else:
        made = aws.call("apigateway:CreateDeployment", lambda: client.create_deployment(
            restApiId=api_id, description=description))
    return str(made["id"])
