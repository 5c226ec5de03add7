"""The local GitHub as the plan's world: repositories, workflow files, secrets, and what a deploy does.

Each project gets a repository holding the workflow file the plan names,
written the way the runbook describes it: the deploy role read from the
secret the plan lists (``${{ secrets.AWS_ROLE_PROD }}``) or hard-coded
(product and order, "line 96"), other secrets used where they are needed
(web_public's ``CLOUDFRONT_DISTRIBUTION_ID_PROD``). The secrets present are
the plan's minus the sandbox's ``missing_secrets`` (the January 8 state), so
``github_secrets`` finds the runbook's Secret Status table from the files.

When a dispatched run completes successfully, ``DeployEffects`` does in the
sandbox's AWS what the real workflow would have done: a Lambda project's
functions get a new published version (primary and DR region), the schema
projects create their tables and upload their templates.
"""

from __future__ import annotations

from collections.abc import Callable

from golive.plan.model import Plan, Project
from golive.plan.variables import variables
from golive.providers.aws import Aws
from golive.sandbox.from_plan import deployed_by_workflow, project_functions
from golive.sandbox.github_server import GitHubServer
from golive.sandbox.moto_lambda import LambdaWriter
from golive.sandbox.provision import create_bucket, function_zip

WORKFLOW_NAMES = {"deploy-prod.yml": "Deploy to PROD", "deploy-application.yml": "Deploy Application",
                  "promote-prod.yml": "Promote to PROD", "terraform-prod.yml": "Terraform Deploy - PROD"}
# run-name as teams write it; promote-prod.yml (campaigns) neither takes nor shows golive's id, as a
# workflow nobody edited for golive would not: golive finds its runs by elimination, and preflight warns.
RUN_NAMES = {
    "deploy-prod.yml": "deploy ${{ inputs.golive_id || github.ref_name }}",
    "deploy-application.yml": "${{ format('Deploy {0} ({1})', github.ref_name, inputs.golive_id) }}",
    "promote-prod.yml": "Promote ${{ github.ref_name }} by @${{ github.actor }}",
    "terraform-prod.yml": "Terraform ${{ inputs.golive_id && format('{0} on ', inputs.golive_id) || '' }}"
                          "${{ github.ref_name }}",
}
WITHOUT_CORRELATION = frozenset({"promote-prod.yml"})


def workflow_text(plan: Plan, env: str, project: Project) -> str:
    e = plan.environments[env]
    role_secrets = [s for s in project.secrets if "ROLE" in s]
    other_secrets = [s for s in project.secrets if "ROLE" not in s]
    if project.role_arn_in_workflow or not role_secrets:
        role = f"arn:aws:iam::{e.account}:role/2-1-bbws-tf-github-actions-{env}"
    else:
        role = "${{ secrets." + role_secrets[0] + " }}"
    file = project.deploy.github_workflow or ""
    name = WORKFLOW_NAMES.get(file, "Deploy")
    run_name = RUN_NAMES.get(file, RUN_NAMES["deploy-prod.yml"])
    lines = [f"name: {name}", f"run-name: \"{run_name}\"", "on:", "  workflow_dispatch:"]
    if file not in WITHOUT_CORRELATION:
        lines += ["    inputs:", "      golive_id:", "        description: correlation id sent by golive",
                  "        required: false"]
    lines += [
        "permissions:",
        "  id-token: write",
        "  contents: read",
        "jobs:",
        "  deploy:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - name: Configure AWS credentials",
        "        uses: aws-actions/configure-aws-credentials@v4",
        "        with:",
        f"          role-to-assume: {role}",
        f"          aws-region: {e.region}",
        "      - name: Deploy",
        "        run: terraform init && terraform apply -auto-approve",
    ]
    for secret in other_secrets:
        lines += [f"      - name: Use {secret}", "        env:", f"          VALUE: ${{{{ secrets.{secret} }}}}",
                  "        run: echo configured"]
    return "\n".join(lines) + "\n"


def seed(server: GitHubServer, plan: Plan, env: str) -> None:
    """Create every project's repository in the state the sandbox section describes."""
    for name, project in plan.projects.items():
        files = {"README.md": f"# {name}\n"}
        if project.deploy.github_workflow:
            files[f".github/workflows/{project.deploy.github_workflow}"] = workflow_text(plan, env, project)
        missing = set(plan.sandbox.missing_secrets.get(name, []))
        secrets = {s for s in project.secrets if s not in missing}
        server.add_repo(project.repo, files, secrets)


class DeployEffects:
    """What a successful deploy workflow changes in the target environment's AWS."""

    def __init__(self, plan: Plan, env: str, aws_for: Callable[[str, str | None], Aws], templates: int, *,
                 lambdas: Callable[[str, str], LambdaWriter] | None = None) -> None:
        self.plan = plan
        self.env = env
        self.aws_for = aws_for
        self.lambdas = lambdas  # the world in moto's process publishes on moto's backend directly
        self.templates = templates
        self.by_repo = {p.repo.lower(): name for name, p in plan.projects.items()}
        self.applied: list[str] = []

    def __call__(self, repo: str, workflow: str, ref: str, inputs: dict[str, str], conclusion: str) -> None:
        project_name = self.by_repo.get(repo.lower())
        if project_name is None or conclusion != "success":
            return
        self.apply(project_name)

    def apply(self, project_name: str) -> None:
        """What deploying ``project_name`` leaves behind (a workflow run's, or a deploy command's in a rehearsal).

        The functions published are the plan's ``sandbox.command_publishes`` for the project, else its canary's;
        a project in ``sandbox.deploy_moves_alias`` also points its canary's alias at each new version.
        """
        project = self.plan.projects[project_name]
        e = self.plan.environments[self.env]
        functions = self.plan.sandbox.command_publishes.get(project_name) or \
            project_functions(self.plan, self.env).get(project_name, [])
        canary = project.rollout.lambda_canary if project.rollout else None
        moves = canary.alias if canary is not None and project_name in self.plan.sandbox.deploy_moves_alias else None
        for region in [e.region, *([e.dr_region] if e.dr_region else [])]:
            aws = self.aws_for(self.env, region)
            writer = self.lambdas(self.env, region) if self.lambdas is not None else None
            for fn in functions:
                if writer is not None:
                    writer.publish_next(fn)
                    if moves:
                        writer.point_alias_at_newest(fn, moves)
                else:
                    version = self._publish(aws, fn)
                    if moves:
                        self._move_alias(aws, fn, moves, version)
        aws = self.aws_for(self.env, None)
        tables, buckets = deployed_by_workflow(project, variables(self.plan, self.env))
        for table, hash_key in tables:
            self._table(aws, table, hash_key)
        for bucket, count in buckets:
            self._bucket(aws, bucket, self.templates if count else 0)
        self.applied.append(project_name)

    @staticmethod
    def _publish(aws: Aws, function: str) -> str:
        client = aws.client("lambda")
        versions = aws.call("lambda:ListVersionsByFunction", lambda: client.list_versions_by_function(FunctionName=function))
        next_version = 1 + max((int(v["Version"]) for v in versions.get("Versions", []) if v["Version"] != "$LATEST"),
                               default=0)
        aws.call("lambda:UpdateFunctionCode", lambda: client.update_function_code(
            FunctionName=function, ZipFile=function_zip(function, next_version)))
        answer = aws.call("lambda:PublishVersion", lambda: client.publish_version(
            FunctionName=function, Description=f"release v{next_version}"))
        return str(answer["Version"])

    @staticmethod
    def _move_alias(aws: Aws, function: str, alias: str, version: str) -> None:
        client = aws.client("lambda")
        aws.call("lambda:UpdateAlias", lambda: client.update_alias(
            FunctionName=function, Name=alias, FunctionVersion=version, RoutingConfig={"AdditionalVersionWeights": {}}))

    @staticmethod
    def _table(aws: Aws, name: str, hash_key: str = "id") -> None:
        client = aws.client("dynamodb")
        existing = aws.call("dynamodb:ListTables", lambda: client.list_tables()).get("TableNames", [])
        if name in existing:
            return
        aws.call("dynamodb:CreateTable", lambda: client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}]))

    @staticmethod
    def _bucket(aws: Aws, name: str, count: int) -> None:
        client = aws.client("s3")
        existing = {b["Name"] for b in aws.call("s3:ListBuckets", lambda: client.list_buckets()).get("Buckets", [])}
        if name not in existing:
            create_bucket(aws, name)
        for i in range(1, count + 1):
            aws.call("s3:PutObject", lambda i=i: client.put_object(  # type: ignore[misc]
                Bucket=name, Key=f"template-{i:02d}.json", Body=b'{"template": %d}' % i))
