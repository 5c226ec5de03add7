"""``golive check`` refuses a CloudFront canary step above 15%: exit 2, the file and line, and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GOLIVE = str(Path(sys.executable).with_name("golive"))
SITE = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  web_public:
    repo: owner/site
    kind: site
    deploy: {github_workflow: deploy.yml}
    secrets:
      CLOUDFRONT_DISTRIBUTION_ID_PROD: {cloudfront_comment: PROD Frontend}
batches:
  - {name: one, projects: [web_public]}
"""


def test_check_refuses_a_20_percent_step_for_a_cloudfront_canary(tmp_path: Path) -> None:
    canary = ("    rollout:\n      cloudfront_canary:\n        distribution: CLOUDFRONT_DISTRIBUTION_ID_PROD\n"
              "        origin_path: /releases/{version}\n        steps:\n          - {header: true, bake: 5m}\n"
              "          - {weight: 5, bake: 10m}\n          - {weight: 20, bake: 10m}\n          - {weight: 100}\n")
    text = SITE.replace("batches:\n", canary + "batches:\n", 1)
    plan = tmp_path / "golive.yaml"
    plan.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "{weight: 20" in row)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    done = subprocess.run([GOLIVE, "check", "-f", str(plan)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert f"{plan}:{line} projects.web_public.rollout.cloudfront_canary.steps[2].weight: 20% is above CloudFront's " \
           f"15%" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
