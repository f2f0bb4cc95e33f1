"""Shapes for the delivery tests: squares given by their corners in (latitude, longitude)."""


def square(south: float, west: float, north: float, east: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def zone_properties(name: str, **overrides) -> dict:
    return {"name": name, "minimum_order": "40", "fee": "4.99", "estimated_minutes": 30, **overrides}
