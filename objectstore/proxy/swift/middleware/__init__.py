"""Swift's middlewares, one module each (``FEATURE``: a ``pipeline.Feature``).

``ORDER`` lists the modules in Swift's proxy pipeline order
(``bulk tempurl formpost ... staticweb container_quotas account_quotas slo
dlo versioned_writes symlink``): a module is in the pipeline once it is
named here.
"""

ORDER: tuple[str, ...] = (
    "bulk",
    "tempurl",
    "formpost",
    "tempauth",
    "staticweb",
    "container_quotas",
    "account_quotas",
    "slo",
    "dlo",
    "versioned_writes",
    "object_versioning",
    "symlink",
)
