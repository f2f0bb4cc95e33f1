"""GeoJSON geometry for zones and excluded areas, checked and queried with shapely. Coordinates are
[longitude, latitude] as GeoJSON has them. A point on a zone's edge counts as inside it (`covers`)."""

import math
from functools import lru_cache

import shapely
from shapely.geometry import Point, shape
from shapely.validation import explain_validity

POLYGON_TYPES = ("Polygon", "MultiPolygon")
EARTH_RADIUS_M = 6_371_008.8
MAX_VERTICES = 10_000


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ring_problems(ring, where: str) -> list[str]:
    if not isinstance(ring, list) or not all(
        isinstance(p, list) and len(p) in (2, 3) and all(_number(c) for c in p) for p in ring
    ):
        return [f"{where}: give the outline as a list of [longitude, latitude] pairs."]
    problems = []
    for lon, lat, *_ in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append(
                f"{where}: [{lon}, {lat}] is not a place on Earth (longitude -180..180, latitude -90..90; "
                "GeoJSON puts longitude first)."
            )
            break
    if len(ring) < 4:
        problems.append(f"{where}: an outline needs at least 3 corners and must end where it starts.")
    elif ring[0][:2] != ring[-1][:2]:
        problems.append(f"{where}: the outline must end where it starts (first and last points equal).")
    return problems


def geometry_problems(geometry) -> list[str]:
    """Plain-language reasons a GeoJSON geometry cannot be a zone or an excluded area; empty when it can."""
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        return [f"The geometry must be a GeoJSON Polygon or MultiPolygon{f', not a {kind}' if kind else ''}."]
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons or not all(isinstance(p, list) and p for p in polygons):
        return ["The geometry has no outline: give its coordinates."]
    problems = []
    vertices = 0
    for index, polygon in enumerate(polygons):
        for ring_index, ring in enumerate(polygon):
            where = "outline" if ring_index == 0 else f"hole {ring_index}"
            if len(polygons) > 1:
                where = f"part {index + 1}, {where}"
            problems += _ring_problems(ring, where)
            vertices += len(ring) if isinstance(ring, list) else 0
    if vertices > MAX_VERTICES:
        problems.append(f"At most {MAX_VERTICES} points in one geometry.")
    if problems:
        return problems
    found = shape(geometry)
    if found.is_empty or found.convex_hull.area == 0:  # every point on one line
        return ["The outline encloses no area."]
    if not found.is_valid:
        reason = explain_validity(found)
        if reason.startswith("Self-intersection"):
            where = reason[reason.find("[") :] if "[" in reason else ""
            return [
                f"The outline crosses itself{f' near {where}' if where else ''}: redraw it without crossings."
            ]
        if reason.startswith("Ring Self-intersection"):
            return ["The outline touches itself at a point: redraw it without loops."]
        if reason.startswith("Too few points"):
            return ["The outline encloses no area."]
        return [f"The outline is not a valid area ({reason})."]
    if found.area == 0:
        return ["The outline encloses no area."]
    return []


@lru_cache(maxsize=1024)
def _prepared(key: str):
    import json

    found = shape(json.loads(key))
    shapely.prepare(found)
    return found


def geometry_shape(geometry):
    """The shapely geometry, prepared for fast point queries and cached by its text."""
    import json

    return _prepared(json.dumps(geometry, sort_keys=True))


def geometry_covers(geometry, *, latitude: float, longitude: float) -> bool:
    return geometry_shape(geometry).covers(Point(float(longitude), float(latitude)))


def geometry_area(geometry) -> float:
    return float(geometry_shape(geometry).area)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
