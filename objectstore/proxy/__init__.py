"""The proxy: a protocol-free core (placement, quorum, handoffs) and the native Swift API."""
