"""A typed async client of the network API (Neutron v2.0 shapes) on the compute endpoint::

async with NetworkClient("http://127.0.0.1:8774", token) as nets:
    net = await nets.create_network("private")
    sub = await nets.create_subnet(net["id"], "10.20.0.0/24")
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from compute_glue.jsonclient import ApiClientError, JsonApi

Json = dict[str, Any]
__all__ = ["ApiClientError", "NetworkClient"]


class NetworkClient(JsonApi):
    """Networks, subnets and ports as one token sees them."""

    async def _create(self, kind: str, fields: Json) -> Json:
        body = {kind: {k: v for k, v in fields.items() if v is not None}}
        return (await self.request("POST", f"/v2.0/{kind}s", body))[kind]

    async def _get(self, kind: str, ident: str) -> Json:
        return (await self.request("GET", f"/v2.0/{kind}s/{quote(ident, safe='')}"))[kind]

    async def _list(self, kind: str, filters: Json) -> list[Json]:
        return (await self.request("GET", f"/v2.0/{kind}s", params=filters))[f"{kind}s"]

    async def _update(self, kind: str, ident: str, fields: Json) -> Json:
        path = f"/v2.0/{kind}s/{quote(ident, safe='')}"
        return (await self.request("PUT", path, {kind: fields}))[kind]

    async def _delete(self, kind: str, ident: str) -> None:
        await self.request("DELETE", f"/v2.0/{kind}s/{quote(ident, safe='')}")

    async def create_network(self, name: str = "", **fields: Any) -> Json:
        return await self._create("network", {"name": name, **fields})

    async def get_network(self, network_id: str) -> Json:
        return await self._get("network", network_id)

    async def list_networks(self, **filters: Any) -> list[Json]:
        return await self._list("network", filters)

    async def update_network(self, network_id: str, **fields: Any) -> Json:
        return await self._update("network", network_id, fields)

    async def delete_network(self, network_id: str) -> None:
        await self._delete("network", network_id)

    async def create_subnet(
        self,
        network_id: str,
        cidr: str,
        *,
        gateway_ip: str | None = "",
        allocation_pools: list[Json] | None = None,
        name: str = "",
    ) -> Json:
        """``gateway_ip``: "" for the first address, None for no gateway, or an address."""
        fields: Json = {"network_id": network_id, "cidr": cidr, "ip_version": 4, "name": name}
        if gateway_ip != "":
            fields["gateway_ip"] = gateway_ip
        if allocation_pools is not None:
            fields["allocation_pools"] = allocation_pools
        body = {"subnet": fields}
        return (await self.request("POST", "/v2.0/subnets", body))["subnet"]

    async def get_subnet(self, subnet_id: str) -> Json:
        return await self._get("subnet", subnet_id)

    async def list_subnets(self, **filters: Any) -> list[Json]:
        return await self._list("subnet", filters)

    async def delete_subnet(self, subnet_id: str) -> None:
        await self._delete("subnet", subnet_id)

    async def create_port(self, network_id: str, **fields: Any) -> Json:
        return await self._create("port", {"network_id": network_id, **fields})

    async def get_port(self, port_id: str) -> Json:
        return await self._get("port", port_id)

    async def list_ports(self, **filters: Any) -> list[Json]:
        return await self._list("port", filters)

    async def delete_port(self, port_id: str) -> None:
        await self._delete("port", port_id)
