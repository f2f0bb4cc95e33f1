"""The printable trip manifest (PDF, reportlab): the store and its licence, the driver (licence masked) and the
vehicle, the planned route in order with its times, and per order the customer, address, window and the
packages carried with their tags, products and quantities. In California each order also gets the delivery
request receipt of 4 CCR 15420 (licensee and licence, the customer's first name and initial, when the request
was made, the goods with quantities and prices, the total, the driver and the vehicle)."""

import io
from decimal import ROUND_HALF_UP, Decimal

from delivery.models import Trip, TripStop
from delivery.state_records import RETAILER_DELIVERY_JURISDICTIONS, trip_goods_value

CENT = Decimal("0.01")


def _escape(text) -> str:
    # reportlab paragraphs take a small XML markup: names and notes must not be read as tags.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _money(value: Decimal) -> str:
    return f"${value.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def _quantity(value: Decimal, unit: str) -> str:
    text = f"{value.normalize():f}"
    return f"{text} {unit}"


def _licence(store) -> str:
    return store.license_adult_use or store.license_medical


def _store_address(store) -> str:
    return ", ".join(
        part
        for part in (store.address_line1, store.city, f"{store.region} {store.postal_code}".strip())
        if part
    )


def trip_manifest_pdf(trip: Trip, stops: list[TripStop]) -> bytes:
    """The manifest of a trip whose stops were read with their orders, lines, packages and products."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    store, driver, vehicle = trip.store, trip.driver, trip.vehicle
    zone = store.tz
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    head = cell.clone("head", fontName="Helvetica-Bold")
    width = letter[0] - inch

    def when(moment) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def grid(columns: list[str], rows: list[list[str]], widths: list[float]) -> LongTable:
        data = [[Paragraph(_escape(name), head) for name in columns]]
        data += [[Paragraph(_escape(value), cell) for value in row] for row in rows]
        table = LongTable(data, colWidths=[width * share for share in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ece9")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    def facts(pairs: list[tuple[str, str]]) -> Paragraph:
        return Paragraph(
            "<br/>".join(f"<b>{_escape(label)}</b>: {_escape(value)}" for label, value in pairs),
            styles["Normal"],
        )

    flowables = [
        Paragraph(_escape(f"Trip manifest: trip {trip.pk}, {trip.day:%A %B %-d, %Y}"), styles["Title"]),
        facts(
            [
                ("Licensee", store.name),
                ("Licence", _licence(store)),
                ("Premises", _store_address(store)),
                (
                    "Driver",
                    # Masked as lists show it; the standard PDF fonts have no bullet, so in words.
                    f"{driver.name}, driver's licence {_masked(driver.licence_number)} ({driver.licence_region})",
                ),
                ("Vehicle", f"{vehicle.colour} {vehicle.make} {vehicle.model}, plate {vehicle.plate}"),
                ("Planned departure", when(trip.planned_start)),
                ("Planned return", when(trip.planned_end)),
                ("Goods carried (retail value)", _money(trip_goods_value(stops))),
                ("State record", trip.state_reference or trip.get_state_status_display()),
            ]
        ),
        Spacer(1, 10),
        Paragraph("Planned route", styles["Heading3"]),
        grid(
            ["Stop", "Arrival", "Customer", "Address", "Window", "Order"],
            [
                [
                    str(stop.sequence),
                    stop.planned_arrival.astimezone(zone).strftime("%H:%M"),
                    _customer_name(stop),
                    stop.order.address_text,
                    _window(stop, zone),
                    str(stop.order.order_id),
                ]
                for stop in stops
            ],
            [0.06, 0.09, 0.2, 0.38, 0.17, 0.1],
        ),
    ]
    for stop in stops:
        order = stop.order.order
        lines = list(order.lines.all())
        flowables += [
            Spacer(1, 10),
            Paragraph(_escape(f"Stop {stop.sequence}: order {order.pk}"), styles["Heading3"]),
            facts(
                [
                    ("Customer", _customer_name(stop)),
                    ("Address", stop.order.address_text),
                    ("Window", _window(stop, zone)),
                    ("Planned arrival", when(stop.planned_arrival)),
                ]
            ),
            grid(
                ["Package tag", "Product", "Quantity", "Price"],
                [
                    [
                        line.package.tag,
                        line.product.name,
                        _quantity(line.quantity, line.package.unit),
                        _money(line.quantity * line.unit_price),
                    ]
                    for line in lines
                ],
                [0.3, 0.4, 0.15, 0.15],
            ),
        ]
    if store.jurisdiction in RETAILER_DELIVERY_JURISDICTIONS:
        for stop in stops:
            flowables += [PageBreak(), *_receipt(trip, stop, styles, facts, grid, when)]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=inch / 2,
        rightMargin=inch / 2,
        topMargin=inch / 2,
        bottomMargin=inch / 2,
        title=f"Trip {trip.pk} manifest",
        invariant=True,
    ).build(flowables)
    return buffer.getvalue()


def _masked(number: str) -> str:
    return f"ending {number[-3:]}" if len(number) > 3 else "on file"


def _customer_name(stop: TripStop) -> str:
    customer = stop.order.order.customer
    return f"{customer.first_name} {customer.last_name}".strip()


def _first_name_and_initial(stop: TripStop) -> str:
    customer = stop.order.order.customer
    initial = f" {customer.last_name[:1]}." if customer.last_name else ""
    return f"{customer.first_name}{initial}"


def _window(stop: TripStop, zone) -> str:
    return f"{stop.order.window_start.astimezone(zone):%H:%M}–{stop.order.window_end.astimezone(zone):%H:%M}"


def _receipt(trip: Trip, stop: TripStop, styles, facts, grid, when) -> list:
    """California's delivery request receipt (4 CCR 15420), one per order, carried with the goods."""
    from reportlab.platypus import Paragraph

    store, order = trip.store, stop.order.order
    lines = list(order.lines.all())
    goods = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
    rows = [
        [line.product.name, line.package.tag, _quantity(line.quantity, line.package.unit), _money(line.unit_price),
         _money(line.quantity * line.unit_price)]
        for line in lines
    ]  # fmt: skip
    return [
        Paragraph(_escape(f"Delivery request receipt: order {order.pk}"), styles["Title"]),
        facts(
            [
                ("Licensee", store.name),
                ("Licence number", _licence(store)),
                ("Premises", _store_address(store)),
                ("Customer", _first_name_and_initial(stop)),
                ("Customer number", str(order.customer_id)),
                ("Delivery request made", when(order.placed_at)),
                ("Delivery address", stop.order.address_text),
                (
                    "Delivery employee",
                    f"{trip.driver.user.first_name or trip.driver.name} (employee "
                    f"{trip.driver.user.get_username()})",
                ),
                (
                    "Vehicle",
                    f"{trip.vehicle.colour} {trip.vehicle.make} {trip.vehicle.model}, plate "
                    f"{trip.vehicle.plate}",
                ),
            ]
        ),  # fmt: skip
        grid(
            ["Product", "Package tag", "Quantity", "Unit price", "Price"],
            rows,
            [0.32, 0.26, 0.14, 0.14, 0.14],
        ),
        facts(
            [
                ("Goods", _money(goods)),
                ("Delivery fee", _money(stop.order.fee)),
                ("Estimated total with taxes", _money(order.estimated_total + stop.order.fee)),
                ("Date and time delivered", "____________________"),
                ("Received by (signature)", "____________________"),
            ]
        ),
    ]
