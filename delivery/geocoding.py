"""An optional geocoder (a Nominatim or Pelias server, e.g. one the operator runs) to place an address that came
without coordinates. Nothing needs it: without DELIVERY_GEOCODER's URL, coordinates must be given."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import httpx
from django.conf import settings

from dispensary.errors import ApplicationError

KINDS = ("nominatim", "pelias")


class GeocoderUnavailable(ApplicationError):
    code = "geocoder_unavailable"
    status = 503


@dataclass(frozen=True)
class Place:
    latitude: Decimal
    longitude: Decimal


def geocoder_configured() -> bool:
    return bool(settings.DELIVERY_GEOCODER.get("URL"))


def _coordinate(value, low: int, high: int) -> Decimal | None:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() and low <= number <= high else None


def geocode(query: str) -> Place | None:
    """The first match for an address, or None when the geocoder finds nothing. Raises GeocoderUnavailable
    when it cannot be asked (not configured, unreachable, an error or an answer that is not a place)."""
    config = settings.DELIVERY_GEOCODER
    base = (config.get("URL") or "").rstrip("/")
    kind = config.get("KIND", "nominatim")
    if not base:
        raise GeocoderUnavailable("No geocoder is configured: give the address's coordinates.")
    if kind not in KINDS:
        raise GeocoderUnavailable(f"Unknown geocoder kind {kind!r}; use nominatim or pelias.")
    if kind == "nominatim":
        url, params = f"{base}/search", {"q": query, "format": "jsonv2", "limit": 1}
    else:
        url, params = f"{base}/v1/search", {"text": query, "size": 1}
    if config.get("API_KEY"):
        params["api_key"] = config["API_KEY"]
    try:
        response = httpx.get(
            url,
            params=params,
            timeout=float(config.get("TIMEOUT_SECONDS", 5)),
            headers={"User-Agent": config.get("USER_AGENT") or "dispensary-platform"},
        )
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise GeocoderUnavailable(f"The geocoder could not be asked: {error}") from error
    if kind == "nominatim":
        if not isinstance(data, list):
            raise GeocoderUnavailable("The geocoder's answer is not a list of places.")
        if not data:
            return None
        first = data[0] if isinstance(data[0], dict) else {}
        latitude, longitude = first.get("lat"), first.get("lon")
    else:
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise GeocoderUnavailable("The geocoder's answer is not a GeoJSON FeatureCollection.")
        if not features:
            return None
        coordinates = ((features[0] or {}).get("geometry") or {}).get("coordinates") or [None, None]
        longitude, latitude = (coordinates + [None, None])[:2]
    place_latitude, place_longitude = _coordinate(latitude, -90, 90), _coordinate(longitude, -180, 180)
    if place_latitude is None or place_longitude is None:
        raise GeocoderUnavailable("The geocoder's answer has no usable coordinates.")
    return Place(latitude=place_latitude, longitude=place_longitude)
