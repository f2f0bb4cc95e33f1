"""Travel-time matrices: the straight line by default, OSRM and Valhalla through routingpy against a local fake
of their matrix APIs (tests/delivery/routing/fake_engines.py)."""

import math

import pytest

from delivery.routing.matrix import (
    UNREACHABLE,
    MatrixError,
    Point,
    RoutingEngineMatrix,
    StraightLineMatrix,
    provider_from_settings,
)
from delivery.routing.planner import plan_routes
from tests.delivery.routing.day import realistic_day
from tests.delivery.routing.evaluator import plan_check
from tests.delivery.routing.fake_engines import FakeEngine, fake_metres, fake_seconds

POINTS = [Point(34.0522, -118.2437), Point(34.0622, -118.2437), Point(34.0522, -118.2237)]


@pytest.fixture
def engine():
    with FakeEngine() as fake:
        yield fake


def expected(points):
    pairs = [(point.longitude, point.latitude) for point in points]
    metres = [[fake_metres(a, b) for b in pairs] for a in pairs]
    return (
        [[math.ceil(m) for m in row] for row in metres],
        [[math.ceil(fake_seconds(m)) for m in row] for row in metres],
    )


def test_the_straight_line_is_the_great_circle_times_the_road_factor_at_the_speed():
    matrix = StraightLineMatrix(road_factor=1.5, speed_kmh=36).matrix(POINTS)
    # 0.01 degree of latitude is 1,111.95 m on the mean Earth (2 pi 6,371,008.8 m / 36,000).
    crow = 2 * math.pi * 6_371_008.8 / 36_000
    assert matrix.distances[0][1] == round(crow * 1.5)
    assert matrix.durations[0][1] == math.ceil(round(crow * 1.5) / 10)  # 36 km/h is 10 m/s
    assert [matrix.distances[i][i] for i in range(3)] == [0, 0, 0]
    assert matrix.distances[1][2] == matrix.distances[2][1] > matrix.distances[0][1]


def test_bad_straight_line_settings_are_refused():
    with pytest.raises(ValueError, match="road factor"):
        StraightLineMatrix(road_factor=0.5)
    with pytest.raises(ValueError, match="speed"):
        StraightLineMatrix(speed_kmh=0)


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_a_routing_engine_gives_its_matrix(engine, kind):
    matrix = RoutingEngineMatrix(engine=kind, url=engine.url, timeout_seconds=5).matrix(POINTS)
    distances, durations = expected(POINTS)
    # Valhalla answers kilometres; routingpy turns them into whole metres.
    tolerance = 1 if kind == "valhalla" else 0
    assert all(abs(matrix.distances[i][j] - distances[i][j]) <= tolerance for i in range(3) for j in range(3))
    assert [list(row) for row in matrix.durations] == durations
    request = engine.requests[-1]
    if kind == "osrm":
        assert request["path"].startswith("/table/v1/driving/-118.2437,34.0522;")
        assert set(request["query"]["annotations"][0].split(",")) == {"duration", "distance"}
    else:
        assert request["path"] == "/sources_to_targets"
        assert request["body"]["costing"] == "auto"
        assert request["body"]["sources"][0] == {"lat": 34.0522, "lon": -118.2437}


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_a_place_no_road_reaches_is_unreachable(engine, kind):
    engine.unreachable = {2}
    matrix = RoutingEngineMatrix(engine=kind, url=engine.url).matrix(POINTS)
    assert matrix.durations[0][2] == matrix.distances[2][0] == UNREACHABLE
    assert matrix.durations[0][1] < UNREACHABLE


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_an_engine_that_refuses_or_fails_raises_a_matrix_error(engine, kind):
    engine.status = 400
    with pytest.raises(MatrixError, match=kind):
        RoutingEngineMatrix(engine=kind, url=engine.url).matrix(POINTS)
    engine.status = 500
    with pytest.raises(MatrixError, match=kind):
        RoutingEngineMatrix(engine=kind, url=engine.url).matrix(POINTS)


@pytest.mark.parametrize("kind", ["osrm", "valhalla"])
def test_an_engine_that_does_not_answer_in_time_raises_a_matrix_error(engine, kind):
    engine.delay = 1.5
    with pytest.raises(MatrixError, match="did not answer"):
        RoutingEngineMatrix(engine=kind, url=engine.url, timeout_seconds=0.3).matrix(POINTS)


def test_nothing_listening_raises_a_matrix_error():
    with FakeEngine() as fake:
        url = fake.url
    with pytest.raises(MatrixError, match="did not answer"):
        RoutingEngineMatrix(engine="osrm", url=url, timeout_seconds=1).matrix(POINTS)


def test_the_settings_choose_the_provider(settings, engine):
    settings.DELIVERY_ROUTING = {"URL": "", "ROAD_FACTOR": 1.4, "SPEED_KMH": 25}
    assert provider_from_settings() == StraightLineMatrix(road_factor=1.4, speed_kmh=25)
    settings.DELIVERY_ROUTING = {"ENGINE": "Valhalla", "URL": engine.url + "/", "TIMEOUT_SECONDS": 3}
    provider = provider_from_settings()
    assert provider == RoutingEngineMatrix(engine="valhalla", url=engine.url + "/", timeout_seconds=3)
    assert provider.matrix(POINTS).durations[0][0] == 0
    with pytest.raises(ValueError, match="unknown routing engine"):
        provider_from_settings({"ENGINE": "graphhopper", "URL": engine.url})
    with pytest.raises(ValueError, match="http"):
        provider_from_settings({"ENGINE": "osrm", "URL": "file:///etc/passwd"})


def test_the_planner_plans_over_an_engines_matrix(engine):
    depot, stops, vehicles = realistic_day(orders=12, drivers=5, seed=11)
    provider = RoutingEngineMatrix(engine="osrm", url=engine.url)
    plan = plan_routes(depot, stops, vehicles, provider=provider, seconds=0.5)

    def travel(a, b):
        metres = fake_metres((a.longitude, a.latitude), (b.longitude, b.latitude))
        return metres, fake_seconds(metres)

    assert plan_check(depot, stops, vehicles, plan, travel) == []
    assert plan.unassigned == ()
