"""CloudFront facts golive needs in more than one place: finding a site's distribution, and the service's limits.

The runbook finds the site's distribution by its comment (``aws cloudfront list-distributions --query
"...[?Comment=='PROD Frontend'].Id"``); prep (a missing secret's value) and the CloudFront canary (its
primary distribution) both do. A staging distribution made for continuous deployment carries its primary's
comment (``CopyDistribution`` copies the configuration), so it is skipped: the id wanted is the primary's.
"""

from __future__ import annotations

import re

from golive.providers.aws import Aws

REGION = "us-east-1"  # CloudFront's API and its CloudWatch metrics answer in us-east-1
MAX_STAGING_WEIGHT = 15.0  # "Maximum percentage of traffic you can send to a staging distribution ...: 15%"
DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{6,}$")  # AWS's start with E; a variable's name has an underscore


def distribution_by_comment(aws: Aws, comment: str) -> str | None:
    """The id of the (primary) CloudFront distribution whose comment is ``comment``, or None."""
    client = aws.client("cloudfront", region=REGION)
    answer = aws.call("cloudfront:ListDistributions", lambda: client.list_distributions(), region=REGION)
    for item in answer.get("DistributionList", {}).get("Items", []) or []:
        if item.get("Comment") == comment and not item.get("Staging"):
            return str(item["Id"])
    return None
