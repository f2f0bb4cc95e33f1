"""Delivery judged against a jurisdiction's rules alone: whether delivery is allowed, the legal hours (and when
the driver must be back), and the retail value a vehicle may carry. Pure: rules in, plain-language reasons out.

`manage.py check_delivery FILE` parses its JSON with `delivery_request_parse` and prints `delivery_check`'s
verdict; the delivery app calls `legal_hours`, `window_check` and `vehicle_value_check` with a store's data."""

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from compliance.rules.limits import DeliveryHours, JurisdictionRules
from compliance.rules.payload import JURISDICTION, RulesInputError
from dispensary.inputs import date_problem

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY = "24:00"
MAX_VALUE = Decimal("100000000")
MAX_RETURN_MINUTES = 24 * 60
CENT = Decimal("0.01")


def time_label(moment: dt.time | None) -> str:
    """6:00 AM, 10:00 PM; midnight at the end of a day."""
    if moment is None:
        return "midnight"
    return moment.strftime("%-I:%M %p")


def money_label(value: Decimal) -> str:
    return f"${value.quantize(CENT):,.2f}"


@dataclass(frozen=True)
class DeliveryVerdict:
    allowed: bool
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"allowed": self.allowed, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class LegalHours:
    """What the jurisdiction's rules in force on a day say about delivery hours.

    on_file: some row in force speaks about delivery at all; permitted: delivery is allowed; start/end: the
    local hours (None when the state sets none); return_by: when the driver must be back (None: no rule)."""

    on_file: bool
    permitted: bool
    start: dt.time | None
    end: dt.time | None
    return_by: dt.time | None
    citations: tuple[str, ...]
    hours_stated: bool

    @property
    def label(self) -> str:
        if not self.on_file:
            return "no delivery rules on file"
        if not self.permitted:
            return "delivery not allowed"
        if self.start is None:
            return "no statewide hours"
        return f"{time_label(self.start)} – {time_label(self.end)}"


def _rows(rules: JurisdictionRules, day: dt.date) -> list[DeliveryHours]:
    return [row for row in rules.delivery if row.in_force(day)]


def legal_hours(rules: JurisdictionRules, day: dt.date) -> LegalHours:
    """Several window rows in force narrow each other (latest start, earliest end)."""
    rows = _rows(rules, day)
    permitted = all(row.delivery_permitted for row in rows)
    windows = [row for row in rows if row.hours == "window" and row.start and row.end]
    stated = [row for row in rows if row.hours == "none_stated"]
    returns = [row.return_by for row in rows if row.return_by is not None]
    start = max((row.start for row in windows), default=None)
    end = min((row.end for row in windows), default=None)
    cited = [row for row in rows if not row.delivery_permitted] or windows or stated
    return LegalHours(
        on_file=bool(rows),
        permitted=permitted,
        start=start,
        end=end,
        return_by=min(returns) if returns else None,
        citations=tuple(dict.fromkeys(row.citation for row in cited if row.citation)),
        hours_stated=bool(windows),
    )


def _cite(citations) -> str:
    return f" ({'; '.join(citations)})" if citations else ""


def local_moment(day: dt.date, moment: dt.time | None, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware instant of a wall-clock time on a day (None: the end of the day, the next midnight)."""
    if moment is None:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return dt.datetime.combine(day, moment, tzinfo=zone)


def wall_time_exists(day: dt.date, moment: dt.time, zone: zoneinfo.ZoneInfo) -> bool:
    """False for the hour skipped when clocks go forward (02:30 on the US spring-forward day)."""
    local = dt.datetime.combine(day, moment, tzinfo=zone)
    back = local.astimezone(dt.UTC).astimezone(zone)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def window_check(
    rules: JurisdictionRules,
    *,
    day: dt.date,
    start: dt.time,
    end: dt.time | None,
    time_zone: str,
    return_minutes: int = 0,
) -> list[str]:
    """Reasons a delivery window (wall-clock times on `day` in `time_zone`; end None = midnight) breaks the
    jurisdiction's hours; empty when it keeps them. The drive back is counted in real minutes, so it is right
    on the days clocks change."""
    zone = zoneinfo.ZoneInfo(time_zone)
    hours = legal_hours(rules, day)
    name = rules.name
    reasons: list[str] = []
    if not hours.on_file:
        return [f"{name} has no delivery rules on file for {day.isoformat()}; none can be booked."]
    if not hours.permitted:
        return [f"{name} does not allow retail delivery to customers{_cite(hours.citations)}."]
    for moment in (start, end):
        if moment is not None and not wall_time_exists(day, moment, zone):
            reasons.append(
                f"{time_label(moment)} does not exist on {day.isoformat()} in {time_zone}: the clocks go "
                "forward that night."
            )
    if reasons:
        return reasons
    if end is not None and end <= start:
        return ["The window must end after it starts, on the same day."]
    if hours.start is not None and (start < hours.start or end is None or end > hours.end):
        reasons.append(
            f"Deliveries in {name} may only happen between {time_label(hours.start)} and "
            f"{time_label(hours.end)} local time{_cite(hours.citations)}; this window runs from "
            f"{time_label(start)} to {time_label(end)}."
        )
    if hours.return_by is not None:
        back = local_moment(day, end, zone).astimezone(dt.UTC) + dt.timedelta(minutes=return_minutes)
        limit = local_moment(day, hours.return_by, zone)
        if back > limit:
            back_local = back.astimezone(zone)
            drive = f" plus {return_minutes} minutes to drive back" if return_minutes else ""
            reasons.append(
                f"The driver must be back at the premises by {time_label(hours.return_by)} in {name}; this "
                f"window ends at {time_label(end)}{drive}, back at {time_label(back_local.time())}"
                f"{'' if back_local.date() == day else ' the next day'}."
            )
    return reasons


@dataclass(frozen=True)
class VehicleCaps:
    cap: Decimal | None
    unordered_cap: Decimal | None
    value_basis: str
    citations: tuple[str, ...]


def vehicle_caps(rules: JurisdictionRules, day: dt.date) -> VehicleCaps:
    rows = [row for row in _rows(rules, day) if row.vehicle_value_cap is not None or row.unordered_value_cap]
    caps = [row.vehicle_value_cap for row in rows if row.vehicle_value_cap is not None]
    unordered = [row.unordered_value_cap for row in rows if row.unordered_value_cap is not None]
    return VehicleCaps(
        cap=min(caps) if caps else None,
        unordered_cap=min(unordered) if unordered else None,
        value_basis=rows[0].value_basis if rows else "retail",
        citations=tuple(dict.fromkeys(row.citation for row in rows if row.citation)),
    )


def vehicle_value_check(
    rules: JurisdictionRules,
    *,
    day: dt.date,
    ordered_value: Decimal,
    unordered_value: Decimal = Decimal("0"),
) -> list[str]:
    """Reasons a vehicle's load breaks the jurisdiction's value caps; empty when it keeps them. The planner
    calls it with a route's load when it plans and when it departs: ordered_value is the retail value of goods
    on confirmed orders, unordered_value of goods carried for orders not yet taken. Goods only leave the
    vehicle on the road, so the load at departure is the most it ever carries."""
    caps = vehicle_caps(rules, day)
    basis = "retail" if caps.value_basis == "retail" else caps.value_basis
    reasons = []
    total = ordered_value + unordered_value
    if caps.cap is not None and total > caps.cap:
        reasons.append(
            f"The vehicle would carry {money_label(total)} of goods at {basis} value; {rules.name} allows at "
            f"most {money_label(caps.cap)} in a vehicle at any time{_cite(caps.citations)}: "
            f"{money_label(total - caps.cap)} over."
        )
    if caps.unordered_cap is not None and unordered_value > caps.unordered_cap:
        reasons.append(
            f"{money_label(unordered_value)} of the goods are not on a customer's order yet; {rules.name} "
            f"allows at most {money_label(caps.unordered_cap)} of those{_cite(caps.citations)}."
        )
    return reasons


# --- check_delivery's question -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRequest:
    jurisdiction: str
    on: dt.date
    window_start: dt.time | None = None
    window_end: dt.time | None = None  # None with a start: midnight ("24:00")
    goods_value: Decimal = Decimal("0")
    unordered_value: Decimal = Decimal("0")
    order_value: Decimal = Decimal("0")
    return_minutes: int = 0
    has_window: bool = False


def _value(data: dict, key: str, path: str, details: dict) -> Decimal:
    raw = data.get(key, "0")
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        details.setdefault(path, []).append('Give the value as a decimal string such as "950.00".')
        return Decimal("0")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        details.setdefault(path, []).append(f"{raw!r} is not a number.")
        return Decimal("0")
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        details.setdefault(path, []).append(f"The value must be between 0 and {MAX_VALUE}.")
        return Decimal("0")
    if value.as_tuple().exponent < -2:
        details.setdefault(path, []).append("Give at most 2 decimal places (dollars and cents).")
        return Decimal("0")
    return value


def _time(raw, path: str, details: dict, *, end: bool) -> tuple[dt.time | None, bool]:
    if end and raw == END_OF_DAY:
        return None, True
    if not isinstance(raw, str) or not TIME.match(raw):
        allowed = ' (or "24:00" for midnight)' if end else ""
        details.setdefault(path, []).append(f'Give a local time as HH:MM, e.g. "21:30"{allowed}.')
        return None, False
    return dt.time.fromisoformat(raw), True


def delivery_request_parse(data) -> DeliveryRequest:
    """Validate check_delivery's JSON and build the question, or raise RulesInputError with every problem."""
    details: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise RulesInputError(
            "The input must be a JSON object.", {"non_field_errors": ["The input must be a JSON object."]}
        )
    unknown = set(data) - {"jurisdiction", "date", "window", "vehicle", "order_value", "return_minutes"}
    if unknown:
        details.setdefault("non_field_errors", []).append(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    jurisdiction = data.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not JURISDICTION.match(jurisdiction):
        details.setdefault("jurisdiction", []).append("Use an ISO 3166-2 code such as US-CA.")
    on = None
    raw_date = data.get("date")
    try:
        on = dt.date.fromisoformat(raw_date) if isinstance(raw_date, str) and len(raw_date) == 10 else None
    except ValueError:
        on = None
    if on is not None and date_problem(on):
        details.setdefault("date", []).append(date_problem(on))
    elif on is None:
        details.setdefault("date", []).append('Give the local date as YYYY-MM-DD, e.g. "2026-03-08".')
    start = end = None
    has_window = "window" in data
    if has_window:
        window = data["window"]
        if not isinstance(window, dict) or set(window) != {"start", "end"}:
            details.setdefault("window", []).append('Give {"start": "HH:MM", "end": "HH:MM"}.')
        else:
            start, _ = _time(window["start"], "window.start", details, end=False)
            end, _ = _time(window["end"], "window.end", details, end=True)
    goods = unordered = Decimal("0")
    if "vehicle" in data:
        vehicle = data["vehicle"]
        if not isinstance(vehicle, dict) or not set(vehicle) <= {"goods_value", "unordered_value"}:
            details.setdefault("vehicle", []).append(
                'Give {"goods_value": "9200.00", "unordered_value": "0.00"}.'
            )
        else:
            goods = _value(vehicle, "goods_value", "vehicle.goods_value", details)
            unordered = _value(vehicle, "unordered_value", "vehicle.unordered_value", details)
            if unordered > goods:
                details.setdefault("vehicle.unordered_value", []).append(
                    "The goods not yet ordered are part of goods_value: it cannot be more."
                )
    order_value = _value(data, "order_value", "order_value", details)
    return_minutes = data.get("return_minutes", 0)
    if (
        isinstance(return_minutes, bool)
        or not isinstance(return_minutes, int)
        or not 0 <= return_minutes <= MAX_RETURN_MINUTES
    ):
        details.setdefault("return_minutes", []).append(
            f"Give the minutes to drive back as a whole number from 0 to {MAX_RETURN_MINUTES}."
        )
        return_minutes = 0
    if details:
        first_field, messages = next(iter(details.items()))
        raise RulesInputError(f"{first_field}: {messages[0]}", details)
    return DeliveryRequest(
        jurisdiction=jurisdiction,
        on=on,
        window_start=start,
        window_end=end,
        goods_value=goods,
        unordered_value=unordered,
        order_value=order_value,
        return_minutes=return_minutes,
        has_window=has_window,
    )


def delivery_check(rules: JurisdictionRules, request: DeliveryRequest) -> DeliveryVerdict:
    """The verdict on one delivery by the jurisdiction's rules alone (no store: its hours, zones and exclusions
    are the delivery app's). The order joins the vehicle's load as goods on a confirmed order."""
    hours = legal_hours(rules, request.on)
    reasons: list[str] = []
    if not hours.on_file:
        reasons.append(f"{rules.name} has no delivery rules on file for {request.on.isoformat()}.")
    elif not hours.permitted:
        reasons.append(f"{rules.name} does not allow retail delivery to customers{_cite(hours.citations)}.")
    else:
        if request.has_window:
            reasons += window_check(
                rules,
                day=request.on,
                start=request.window_start,
                end=request.window_end,
                time_zone=rules.time_zone,
                return_minutes=request.return_minutes,
            )
        reasons += vehicle_value_check(
            rules,
            day=request.on,
            ordered_value=request.goods_value - request.unordered_value + request.order_value,
            unordered_value=request.unordered_value,
        )
    return DeliveryVerdict(allowed=not reasons, reasons=tuple(reasons))
