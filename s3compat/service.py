"""ListBuckets: the containers of the caller's account that are valid bucket names.

Paginated as AWS does since 2024: ``max-buckets`` (1..10000), ``continuation-token``
(opaque: the last name of the page before), ``prefix`` and ``bucket-region``. Without
any of them every bucket is listed in one answer, as before pagination existed.
"""

from __future__ import annotations

from aiohttp import web

from objectstore.proxy.models import ContainerRow, ListParams
from s3compat import acl
from s3compat.context import S3Context, to_datetime, xml_response
from s3compat.errors import S3Error
from s3compat.listing import name_from_token, token_for
from s3compat.router import validate_bucket_name
from stratus.digits import ascii_uint

PAGE = 10000
MAX_BUCKETS = 100_000  # bounds the walk over one account's containers
PAGED_DEFAULT = 10000  # AWS's page size once any pagination parameter is given


def _is_bucket(name: str) -> bool:
    try:
        validate_bucket_name(name)
    except S3Error:
        return False
    return True


def _max_buckets(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = ascii_uint(raw)
    if value is None or not 1 <= value <= PAGED_DEFAULT:
        raise S3Error(
            "InvalidArgument",
            f"max-buckets must be an integer between 1 and {PAGED_DEFAULT}",
            extra={"ArgumentName": "max-buckets", "ArgumentValue": raw[:64]},
        )
    return value


async def handle_list_buckets(ctx: S3Context) -> web.StreamResponse:
    assert ctx.principal is not None
    account = ctx.principal.account
    q = ctx.query
    prefix, token, wanted_region = (
        q.get("prefix"),
        q.get("continuation-token"),
        q.get("bucket-region"),
    )
    limit = _max_buckets(q.get("max-buckets"))
    if limit is None and (prefix is not None or token is not None or wanted_region is not None):
        limit = PAGED_DEFAULT
    region = ctx.settings.region  # every bucket is in the cluster's one region
    buckets: list[dict[str, object]] = []
    marker = name_from_token(token) if token else ""
    truncated = False
    in_region = wanted_region is None or wanted_region == region
    for _ in range(MAX_BUCKETS // PAGE if in_region else 0):
        params = ListParams(limit=PAGE, marker=marker, prefix=prefix or "")
        _info, rows = await ctx.core.list_containers(account, params)
        for row in rows:
            if not (isinstance(row, ContainerRow) and _is_bucket(row.name)):
                continue
            if limit is not None and len(buckets) == limit:
                truncated = True
                break
            buckets.append(
                {
                    "Name": row.name,
                    "CreationDate": to_datetime(row.last_modified),
                    "BucketRegion": region,
                }
            )
        if truncated or len(rows) < PAGE:
            break
        marker = rows[-1].name
    body = {
        "Owner": acl.owner_of(account),
        "Buckets": {"Bucket": buckets},
        "ContinuationToken": token_for(str(buckets[-1]["Name"])) if truncated else None,
        "Prefix": prefix,
    }
    return xml_response("ListAllMyBucketsResult", body)
