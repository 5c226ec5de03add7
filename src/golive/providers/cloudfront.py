"""CloudFront facts golive needs in more than one place: finding a site's distribution, and the service's limits.

The runbook finds the site's distribution by its comment (``aws cloudfront list-distributions --query
"...[?Comment=='PROD Frontend'].Id"``); prep (a missing secret's value) and the CloudFront canary (its
primary distribution) both do. A staging distribution made for continuous deployment carries its primary's
comment (``CopyDistribution`` copies the configuration), so it is skipped: the id wanted is the primary's.

``ListDistributions`` answers one page at a time (at most 100 distributions by default; ``DistributionList``
says ``IsTruncated`` and gives the ``NextMarker`` to send back as ``Marker``): an account with more
distributions than a page would hide the site's distribution, or its staging copy, behind the first page.
Every listing goes through ``distributions``, which follows the markers, one bounded ``Aws.call`` per page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from golive.providers.aws import Aws

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.type_defs import DistributionSummaryTypeDef, ListDistributionsRequestTypeDef

REGION = "us-east-1"  # CloudFront's API and its CloudWatch metrics answer in us-east-1
MAX_STAGING_WEIGHT = 15.0  # "Maximum percentage of traffic you can send to a staging distribution ...: 15%"
DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{6,}$")  # AWS's start with E; a variable's name has an underscore


def distributions(aws: Aws, *, page_size: int | None = None) -> Iterator[DistributionSummaryTypeDef]:
    """Every distribution summary of the account, page after page (``Marker`` = the last page's ``NextMarker``).

    Lazy: a caller that stops at the one it wants asks for no further page. ``page_size`` is ``MaxItems``
    (None: CloudFront's default, 100). A page that says it is truncated but gives no new marker ends the
    listing rather than asking for the same page forever.
    """
    client = aws.client("cloudfront", region=REGION)
    seen: set[str] = set()
    marker: str | None = None
    while True:
        request: ListDistributionsRequestTypeDef = {}
        if marker is not None:
            request["Marker"] = marker
        if page_size is not None:
            request["MaxItems"] = str(page_size)  # a string in CloudFront's model (a query parameter)
        answer = aws.call("cloudfront:ListDistributions", partial(client.list_distributions, **request),
                          region=REGION)
        page = answer.get("DistributionList", {})
        yield from page.get("Items", []) or []
        marker = page.get("NextMarker") or None
        if not page.get("IsTruncated") or marker is None or marker in seen:
            return
        seen.add(marker)


def distribution_by_comment(aws: Aws, comment: str) -> str | None:
    """The id of the (primary) CloudFront distribution whose comment is ``comment``, or None."""
    for item in distributions(aws):
        if item.get("Comment") == comment and not item.get("Staging"):
            return str(item["Id"])
    return None
