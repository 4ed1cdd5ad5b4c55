"""The cluster page's numbers: a node's /metrics text summed, rates between samples, the axis;
the iSCSI sessions table."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from stratus.console.charts import line_chart, nice_top
from stratus.console.clustermetrics import Point, Sample, Sampler, totals
from stratus.console.templating import make_env
from stratus.console.views.cluster import group_sessions
from stratus.console.views.volumes import qemu_io_line


def _metrics(requests: int, seconds: float, pushed: int) -> str:
    """What a node's /metrics says, made by the same library the nodes use."""
    r = CollectorRegistry()
    c = Counter("stratus_node_requests", "", ["method", "kind", "status"], registry=r)
    c.labels("GET", "o", "200").inc(requests - 1)
    c.labels("PUT", "o", "201").inc(1)
    h = Histogram("stratus_node_request_seconds", "", ["method", "kind"], registry=r)
    for _ in range(requests):
        h.labels("GET", "o").observe(seconds / requests)
    Counter("stratus_replication_pushed_bytes", "", ["worker"], registry=r).labels("o").inc(pushed)
    return generate_latest(r).decode()


def test_totals_sum_every_label() -> None:
    req, secs, count, moved = totals(_metrics(10, 0.5, 4096))
    assert req == 10 and count == 10 and moved == 4096
    assert abs(secs - 0.5) < 1e-9


def test_series_are_rates_between_samples_and_skip_restarts() -> None:
    s = Sampler(("http://n",), keep=5)
    for sample in (
        Sample(100.0, 10, 0.1, 10, 0, 1),
        Sample(110.0, 60, 0.6, 60, 1000, 1),
        Sample(120.0, 5, 0.01, 5, 0, 1),  # the node restarted: its counters began again
        Sample(130.0, 25, 0.21, 25, 500, 1),
    ):
        s.samples.append(sample)
    series = s.series()
    assert [p.value for p in series["rate"]] == [5.0, 2.0]
    assert [round(p.value, 6) for p in series["latency"]] == [10.0, 10.0]
    assert [p.value for p in series["bytes"]] == [100.0, 50.0]


def test_the_ring_buffer_is_bounded() -> None:
    s = Sampler(("http://n",), keep=3)
    for i in range(10):
        s.samples.append(Sample(float(i), i, 0, i, 0, 1))
    assert len(s.samples) == 3


def test_the_chart_scales_into_its_box() -> None:
    assert [nice_top(v) for v in (0, 0.3, 1, 3, 7, 12, 450)] == [1, 0.5, 1, 5, 10, 20, 500]
    chart = line_chart("r", "req/s", [Point(1000.0, 2.0), Point(4000.0, 5.0)], now=4000.0)
    assert chart.top == 5
    (x1, y1), (x2, y2) = chart.points
    assert x1 < x2 == chart.right_x and y2 == chart.top_y and y1 > y2
    old = line_chart("r", "req/s", [Point(0.0, 1.0)], now=5000.0)
    assert old.points == []  # older than the hour shown


def test_the_qemu_io_line_has_the_readme_shape() -> None:
    data = {
        "target_portal": "127.0.0.1:3260",
        "target_iqn": "iqn.x:vol",
        "target_lun": 0,
        "auth_username": "u",
        "auth_password": "p",
    }
    line = qemu_io_line(data, "iqn.2024-01.org.example:host1")
    assert line.startswith(
        "qemu-io --image-opts driver=iscsi,transport=tcp,portal=127.0.0.1:3260,"
        "target=iqn.x:vol,lun=0,user=u,password=p,initiator-name=iqn.2024-01.org.example:host1"
    )


def test_the_iscsi_sessions_render_per_volume() -> None:
    """What os-iscsi-sessions answers, grouped per volume and drawn as the cluster page does."""
    answer = {
        "sessions": [
            {"volume_id": "v-2", "initiator": "iqn.2024-01.test:b", "peer": "10.0.0.9:5000",
             "portal": "10.0.0.1:3260", "session_id": "80aa:0002", "connected_at": "t"},
            {"volume_id": "v-1", "initiator": "iqn.2024-01.test:a", "peer": "10.0.0.8:5000",
             "portal": "10.0.0.1:3260", "session_id": "80aa:0001", "connected_at": "t"},
            {"volume_id": "v-2", "initiator": "iqn.2024-01.test:<c>", "peer": "10.0.0.7:5000"},
            {"initiator": "no volume: skipped"},
        ]
    }  # fmt: skip
    volumes = group_sessions(answer)
    assert [(v["volume_id"], v["count"]) for v in volumes] == [("v-1", 1), ("v-2", 2)]
    assert volumes[1]["initiators"] == ["iqn.2024-01.test:<c>", "iqn.2024-01.test:b"]
    template = make_env().get_template("cluster/_sessions.html")
    html = template.render(volumes=volumes, sessions_error=None)
    assert 'id="iscsi-sessions"' in html and "<table" in html
    assert "iqn.2024-01.test:&lt;c&gt;, iqn.2024-01.test:b" in html
    assert "10.0.0.9:5000 → 10.0.0.1:3260" in html and "session 80aa:0002" in html
    empty = template.render(volumes=group_sessions({"sessions": []}), sessions_error=None)
    assert "<table" not in empty and ">none</p>" in empty
    assert "did not list them: denied" in template.render(volumes=[], sessions_error="denied")


def test_the_health_page_shows_what_a_node_reports() -> None:
    """A node's /stats as the cluster page draws it: a failed device, lag, rings, fill."""
    from stratus.console.views.cluster import summary

    stats = {
        "devices": {"d0": {}, "d1": {"unavailable": "not mounted"}},
        "workers": {
            "object-replicator": {"lag": 42.0},
            "container-replicator": {"lag": 3.0},
            "account-replicator": {"lag": 1.0},
            "auditor": {"lag": 999.0},  # not a replicator: not replication lag
        },
        "quarantined": 7,
        "async_pending": 2,
        "async_dropped": 0,
        "rings": {"object": 3, "container": 2, "account": None},
    }
    h = summary(stats)
    assert h["failed_devices"] == {"d1": "not mounted"}
    assert h["replication_lag"] == 42.0 and h["quarantined"] == 7
    nodes = [
        {
            "url": "127.0.0.1:6200",
            "health": h,
            "devs": ["d0", "d1"],
            "fill": {"d0": {"used": 3 * 2**30, "total": 4 * 2**30, "pct": 75.0}},
        },
        {"url": "127.0.0.1:6201", "health": {"up": False, "error": "ClientConnectorError"},
         "devs": [], "fill": {}},
    ]  # fmt: skip
    totals = {"nodes_up": 1, "nodes_total": 2, "failed_devices": 1, "replication_lag": 42.0,
              "quarantined": 7, "async_pending": 2, "async_dropped": 0}  # fmt: skip
    charts = [line_chart("Requests", "req/s", [Point(1000.0, 2.0)], now=1000.0)]
    html = (
        make_env()
        .get_template("cluster/health.html")
        .render(
            request=None,
            viewer=None,
            nav=[],
            flashes=[],
            csrf="",
            nodes=nodes,
            totals=totals,
            charts=charts,
            volumes=[],
            sessions_error=None,
        )
    )
    assert "nodes up 1/2 · failed devices 1 · replication lag 42 s · quarantined 7" in html
    assert "d1: not mounted" in html
    assert '<meter min="0" max="100" value="75.0" title="3.0 GiB of 4.0 GiB">' in html
    assert '<td class="rings">v3 / v2 / v?</td>' in html
    assert 'down</td><td colspan="7">ClientConnectorError' in html
    assert html.count('class="point"') == 1
