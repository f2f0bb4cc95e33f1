"""Travel times and distances between points, from a pluggable provider: straight-line distance with a road
factor and a speed (offline, the default), or an OSRM or Valhalla server through routingpy when configured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

EARTH_RADIUS_METRES = 6_371_008.8
# A pair a routing engine cannot connect (an island, a closed road) is this far and long: never chosen.
UNREACHABLE = 10**9


class MatrixError(Exception):
    """The travel-time service could not answer (down, refused, or answered something unusable)."""


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and -90 <= self.latitude <= 90):
            raise ValueError(f"latitude {self.latitude!r} is not between -90 and 90")
        if not (math.isfinite(self.longitude) and -180 <= self.longitude <= 180):
            raise ValueError(f"longitude {self.longitude!r} is not between -180 and 180")


@dataclass(frozen=True)
class TravelMatrix:
    """distances[i][j] in metres and durations[i][j] in seconds, from point i to point j."""

    distances: tuple[tuple[int, ...], ...]
    durations: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.distances)


class MatrixProvider(Protocol):
    def matrix(self, points: Sequence[Point]) -> TravelMatrix: ...


def haversine_metres(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class StraightLineMatrix:
    """Great-circle distance times a road factor (roads are longer than the crow flies), at an average speed."""

    road_factor: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.road_factor) and self.road_factor >= 1):
            raise ValueError("the road factor is at least 1")
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise ValueError("the speed is more than 0 km/h")

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        metres_per_second = self.speed_kmh * 1000 / 3600
        distances, durations = [], []
        for a in points:
            row = [round(haversine_metres(a, b) * self.road_factor) for b in points]
            distances.append(tuple(row))
            durations.append(tuple(math.ceil(metres / metres_per_second) for metres in row))
        return TravelMatrix(distances=tuple(distances), durations=tuple(durations))


def _whole(value: float | None) -> int:
    if value is None:
        return UNREACHABLE
    if not math.isfinite(value) or value < 0:
        raise MatrixError(f"the routing engine answered an unusable value: {value!r}")
    return math.ceil(value)


@dataclass(frozen=True)
class RoutingEngineMatrix:
    """An OSRM (table service) or Valhalla (sources_to_targets) server, asked through routingpy."""

    engine: str  # "osrm" or "valhalla"
    url: str
    profile: str = ""  # default: "driving" for OSRM, "auto" for Valhalla
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.engine not in ("osrm", "valhalla"):
            raise ValueError(f"unknown routing engine {self.engine!r}: osrm or valhalla")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"the routing engine's address must be an http(s) URL, not {self.url!r}")

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        import routingpy
        from routingpy.exceptions import RouterError

        if len(points) < 2:
            zero = tuple(tuple(0 for _ in points) for _ in points)
            return TravelMatrix(distances=zero, durations=zero)
        locations = [[point.longitude, point.latitude] for point in points]
        base_url = self.url.rstrip("/")
        try:
            if self.engine == "osrm":
                client = routingpy.OSRM(base_url=base_url, timeout=self.timeout_seconds, retry_timeout=0)
                answer = client.matrix(
                    locations, profile=self.profile or "driving", annotations=["duration", "distance"]
                )
            else:
                client = routingpy.Valhalla(base_url=base_url, timeout=self.timeout_seconds, retry_timeout=0)
                answer = client.matrix(locations, profile=self.profile or "auto", units="km")
        except RouterError as error:
            raise MatrixError(f"the {self.engine} server refused the matrix: {error}") from error
        except Exception as error:  # noqa: BLE001 - routingpy raises the transport's errors (timeouts, resets)
            raise MatrixError(f"the {self.engine} server did not answer: {error}") from error
        size = len(points)
        durations, distances = answer.durations, answer.distances
        if (
            not isinstance(durations, list)
            or not isinstance(distances, list)
            or len(durations) != size
            or len(distances) != size
            or any(len(row) != size for row in (*durations, *distances))
        ):
            raise MatrixError(f"the {self.engine} server answered a matrix of the wrong size")
        return TravelMatrix(
            distances=tuple(tuple(_whole(value) for value in row) for row in distances),
            durations=tuple(tuple(_whole(value) for value in row) for row in durations),
        )


def provider_from_settings(config: dict | None = None) -> MatrixProvider:
    """The provider configured in settings.DELIVERY_ROUTING (see the README): a routing engine when it has a
    URL, otherwise the straight line."""
    if config is None:
        from django.conf import settings

        config = getattr(settings, "DELIVERY_ROUTING", {})
    url = (config.get("URL") or "").strip()
    if url:
        return RoutingEngineMatrix(
            engine=(config.get("ENGINE") or "osrm").strip().lower(),
            url=url,
            profile=(config.get("PROFILE") or "").strip(),
            timeout_seconds=float(config.get("TIMEOUT_SECONDS", 10)),
        )
    return StraightLineMatrix(
        road_factor=float(config.get("ROAD_FACTOR", 1.3)), speed_kmh=float(config.get("SPEED_KMH", 30))
    )
