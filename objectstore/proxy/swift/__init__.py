"""The native (Swift) API over the proxy core: aiohttp handlers, one module per family."""
