"""Customers' delivery addresses: coordinates given by the client or staff, or found by a configured geocoder
(Nominatim or Pelias), here a local fake server speaking their search APIs. Without a geocoder coordinates are
required; a geocoder that fails or finds nothing writes nothing."""

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from delivery.models import DeliveryAddress
from delivery.services import delivery_address_create
from dispensary.errors import ValidationFailed
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MISSION = {"line1": "2301 Mission St", "city": "San Francisco", "region": "CA", "postal_code": "94110"}


class FakeGeocoder(BaseHTTPRequestHandler):
    """/search (Nominatim) and /v1/search (Pelias); "Nowhere" finds nothing, "Broken" answers 500."""

    requests: list[dict] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        FakeGeocoder.requests.append({"path": parts.path, **query})
        text = query.get("q") or query.get("text") or ""
        if "Broken" in text:
            self.send_response(500)
            self.end_headers()
            return
        found = "Nowhere" not in text
        if parts.path == "/search":
            body = [{"lat": "37.760310", "lon": "-122.419200", "display_name": text}] if found else []
        elif parts.path == "/v1/search":
            features = [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-122.4192, 37.76031]}}
            ]
            body = {"type": "FeatureCollection", "features": features if found else []}
        else:
            self.send_response(404)
            self.end_headers()
            return
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def geocoder_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGeocoder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGeocoder.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization)


def configure(settings, *, kind="nominatim", url=""):
    settings.DELIVERY_GEOCODER = {
        **settings.DELIVERY_GEOCODER,
        "KIND": kind,
        "URL": url,
        "TIMEOUT_SECONDS": 2,
    }


def test_coordinates_given_by_the_client_or_staff_are_kept(settings, customer, manager):
    configure(settings, url="")
    address = delivery_address_create(
        customer=customer,
        actor=manager,
        latitude="37.7603101",
        longitude="-122.4192",
        source="staff",
        **MISSION,
    )
    assert (address.latitude, address.longitude, address.source) == (
        Decimal("37.760310"),
        Decimal("-122.419200"),
        "staff",
    )


def test_without_a_geocoder_coordinates_are_required(settings, customer):
    configure(settings, url="")
    with pytest.raises(ValidationFailed) as raised:
        delivery_address_create(customer=customer, actor=None, **MISSION)
    assert raised.value.details == {
        "latitude": ["Give the address's coordinates: no geocoder is configured to find them."]
    }
    assert not DeliveryAddress.objects.exists()


def test_a_post_office_box_is_refused(settings, customer):
    with pytest.raises(ValidationFailed) as raised:
        delivery_address_create(
            customer=customer,
            actor=None,
            latitude="37.76",
            longitude="-122.42",
            **{**MISSION, "line1": "PO Box 44"},
        )
    assert raised.value.details == {
        "line1": ["Deliveries go to a physical address only; a post office box is not one."]
    }


@pytest.mark.parametrize("kind", ["nominatim", "pelias"])
def test_the_configured_geocoder_places_an_address(settings, customer, geocoder_url, kind):
    configure(settings, kind=kind, url=geocoder_url)
    address = delivery_address_create(customer=customer, actor=None, **MISSION)
    assert (address.latitude, address.longitude, address.source) == (
        Decimal("37.760310"),
        Decimal("-122.419200"),
        "geocoder",
    )
    asked = FakeGeocoder.requests[-1]
    if kind == "nominatim":
        assert asked == {
            "path": "/search",
            "q": "2301 Mission St, San Francisco, CA, 94110, US",
            "format": "jsonv2",
            "limit": "1",
        }
    else:
        assert asked == {
            "path": "/v1/search",
            "text": "2301 Mission St, San Francisco, CA, 94110, US",
            "size": "1",
        }


def test_geocoder_finding_nothing_or_failing_writes_nothing(settings, customer, geocoder_url):
    configure(settings, url=geocoder_url)
    with pytest.raises(ValidationFailed, match="found no such address"):
        delivery_address_create(customer=customer, actor=None, **{**MISSION, "line1": "1 Nowhere Lane"})
    with pytest.raises(ValidationFailed, match="could not be asked"):
        delivery_address_create(customer=customer, actor=None, **{**MISSION, "line1": "1 Broken Road"})
    configure(settings, url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ValidationFailed, match="could not be asked"):
        delivery_address_create(customer=customer, actor=None, **MISSION)
    assert not DeliveryAddress.objects.exists()
