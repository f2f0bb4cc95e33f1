"""The words of the customer's delivery messages: a short text (plain GSM characters, so a part holds 160) and
an email saying the same at more length, with the store's name, in the store's local time. Pure functions of
a Notice: the handlers (messaging.delivery_handlers) gather the facts."""

import datetime as dt
from dataclasses import dataclass

from delivery.customer_words import return_next_words, return_reason_words
from dispensary.phones import phone_display


@dataclass(frozen=True)
class Notice:
    store_name: str
    store_phone: str  # E.164 or ""
    tz: dt.tzinfo
    order_number: int
    first_name: str = ""
    tracking_url: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    eta: dt.datetime | None = None
    driver_first_name: str = ""
    at: dt.datetime | None = None  # when it happened (delivered, returned)
    now: dt.datetime | None = None  # when the message is written ("today")
    receipt_number: str = ""
    total: str = ""  # "$55.01"
    reason: str = ""
    reason_text: str = ""


@dataclass(frozen=True)
class Wording:
    sms: str
    subject: str
    email: str


def clock_text(moment: dt.datetime, tz: dt.tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def _day_text(moment: dt.datetime, notice: Notice) -> str:
    local = moment.astimezone(notice.tz)
    if notice.now is not None:
        today = notice.now.astimezone(notice.tz).date()
        if local.date() == today:
            return "today"
        if local.date() == today + dt.timedelta(days=1):
            return "tomorrow"
    return f"{local:%a %b} {local.day}"


def _window(notice: Notice) -> str:
    start, end = notice.window_start, notice.window_end
    return (
        f"{_day_text(start, notice)} between {clock_text(start, notice.tz)} and {clock_text(end, notice.tz)}"
    )


def _driver(notice: Notice) -> str:
    return notice.driver_first_name.strip() or "Your driver"


def _email(notice: Notice, *paragraphs: str) -> str:
    greeting = f"Hi {notice.first_name.strip()}," if notice.first_name.strip() else "Hello,"
    lines = [greeting, "", *(part for paragraph in paragraphs if paragraph for part in (paragraph, ""))]
    if notice.store_phone:
        lines += [f"Questions? Call us at {phone_display(notice.store_phone)}.", ""]
    lines.append(f"{notice.store_name}")
    return "\n".join(lines) + "\n"


def _track(notice: Notice, words: str = "Track it") -> str:
    return f" {words}: {notice.tracking_url}" if notice.tracking_url else ""


def order_confirmed(notice: Notice) -> Wording:
    window = _window(notice)
    return Wording(
        sms=f"{notice.store_name}: your delivery order #{notice.order_number} is confirmed for {window}."
        f"{_track(notice)}",
        subject=f"{notice.store_name}: delivery order #{notice.order_number} confirmed",
        email=_email(
            notice,
            f"Your delivery order #{notice.order_number} is confirmed. We will bring it {window}.",
            "Please have a valid ID ready: the driver checks it at the door.",
            f"Follow your order here: {notice.tracking_url}" if notice.tracking_url else "",
        ),
    )


def on_the_way(notice: Notice) -> Wording:
    eta = f" Expected around {clock_text(notice.eta, notice.tz)}." if notice.eta else ""
    driver = _driver(notice)
    return Wording(
        sms=f"{notice.store_name}: {driver} is on the way with your order #{notice.order_number}.{eta}"
        f"{_track(notice, 'Track')}",
        subject=f"{notice.store_name}: your order #{notice.order_number} is on the way",
        email=_email(
            notice,
            f"{driver} has left {notice.store_name} with your order #{notice.order_number}.{eta}",
            f"You can see when your driver is on the way to you here: {notice.tracking_url}"
            if notice.tracking_url
            else "",
            "Please have a valid ID ready: the driver checks it at the door.",
        ),
    )


def nearby(notice: Notice) -> Wording:
    eta = f" (around {clock_text(notice.eta, notice.tz)})" if notice.eta else ""
    driver = _driver(notice)
    return Wording(
        sms=f"{notice.store_name}: {driver} is a few minutes away with your order #{notice.order_number}"
        f"{eta}. Please have your ID ready.",
        subject=f"{notice.store_name}: your driver is nearby",
        email=_email(
            notice,
            f"{driver} is a few minutes away with your order #{notice.order_number}{eta}.",
            "Please have a valid ID ready: the driver checks it at the door.",
            f"Follow your driver here: {notice.tracking_url}" if notice.tracking_url else "",
        ),
    )


def delayed(notice: Notice) -> Wording:
    eta = clock_text(notice.eta, notice.tz)
    return Wording(
        sms=f"{notice.store_name}: sorry, your order #{notice.order_number} is running late. "
        f"New estimate: around {eta}.{_track(notice, 'Track')}",
        subject=f"{notice.store_name}: your order #{notice.order_number} is running late",
        email=_email(
            notice,
            f"We are sorry: your order #{notice.order_number} will reach you later than the window you booked "
            f"({_window(notice)}). We now expect to be there around {eta}.",
            f"Follow your order here: {notice.tracking_url}" if notice.tracking_url else "",
        ),
    )


def delivered(notice: Notice) -> Wording:
    when = f" at {clock_text(notice.at, notice.tz)}" if notice.at else ""
    receipt = ""
    if notice.receipt_number:
        receipt = f" Receipt {notice.receipt_number}, total {notice.total}"
        receipt += f": {notice.tracking_url}" if notice.tracking_url else "."
    return Wording(
        sms=f"{notice.store_name}: your order #{notice.order_number} was delivered{when}. Thank you!{receipt}",
        subject=f"{notice.store_name}: your order #{notice.order_number} was delivered",
        email=_email(
            notice,
            f"Your order #{notice.order_number} was delivered{when}. Thank you for ordering from "
            f"{notice.store_name}!",
            f"Your receipt {notice.receipt_number} (total {notice.total}) is here: {notice.tracking_url}"
            if notice.receipt_number and notice.tracking_url
            else "",
        ),
    )


def returned_reason(notice: Notice) -> str:
    return return_reason_words(notice.reason, notice.reason_text)


def returned_next(notice: Notice) -> str:
    return return_next_words(notice.reason)


def returned(notice: Notice) -> Wording:
    reason = returned_reason(notice)
    call = f" Questions? Call {phone_display(notice.store_phone)}." if notice.store_phone else ""
    return Wording(
        sms=f"{notice.store_name}: we could not deliver your order #{notice.order_number}: {reason}. "
        f"{returned_next(notice)}{call}",
        subject=f"{notice.store_name}: your order #{notice.order_number} was not delivered",
        email=_email(
            notice,
            f"We could not deliver your order #{notice.order_number}: {reason}.",
            returned_next(notice),
        ),
    )
