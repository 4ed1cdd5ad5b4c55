"""What the storage node, its client and the proxy share: the node's HTTP
dialect (``wire``), the values and errors of its API (``values``) and the
per-process error limiter (``errorlimit``).

Neutral ground, so that the node never imports the proxy and the client
never imports the node; it imports neither of them itself.
"""
