"""The storage node: one aiohttp process serving object, container and
account endpoints for its devices (see ``objectstore.node.server``), reached
only through ``objectstore.client``."""
