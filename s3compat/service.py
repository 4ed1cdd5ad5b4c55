"""ListBuckets: the containers of the caller's account that are valid bucket names."""

from __future__ import annotations

from aiohttp import web

from objectstore.proxy.models import ContainerRow, ListParams
from s3compat import acl
from s3compat.context import S3Context, to_datetime, xml_response
from s3compat.errors import S3Error
from s3compat.router import validate_bucket_name

PAGE = 10000
MAX_BUCKETS = 100_000  # bounds the walk over one account's containers


def _is_bucket(name: str) -> bool:
    try:
        validate_bucket_name(name)
    except S3Error:
        return False
    return True


async def handle_list_buckets(ctx: S3Context) -> web.StreamResponse:
    assert ctx.principal is not None
    account = ctx.principal.account
    buckets = []
    marker = ""
    for _ in range(MAX_BUCKETS // PAGE):
        _info, rows = await ctx.core.list_containers(account, ListParams(limit=PAGE, marker=marker))
        for row in rows:
            if isinstance(row, ContainerRow) and _is_bucket(row.name):
                buckets.append({"Name": row.name, "CreationDate": to_datetime(row.last_modified)})
        if len(rows) < PAGE:
            break
        marker = rows[-1].name
    body = {"Owner": acl.owner_of(account), "Buckets": {"Bucket": buckets}}
    return xml_response("ListAllMyBucketsResult", body)
