"""Reads of the managers' promotion settings pages: an organization's promotions (with when they apply, in
words), its coupons with their redemptions, the coupon results by code and by message, and its loyalty rows.
Each list is a fixed number of queries however many rows there are."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Func, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from dispensary.models import Organization
from pos.models import (
    Coupon,
    CouponRedemption,
    LoyaltyProgram,
    LoyaltyTier,
    PointsMultiplier,
    Promotion,
    Reward,
    Sale,
)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ATTRIBUTION_MAX_DAYS = 366
ATTRIBUTION_MAX_ROWS = 500
CENT = Decimal("0.01")


def weekdays_text(weekdays) -> str:
    days = sorted({int(day) for day in weekdays or ()})
    if not days or len(days) == 7:
        return "every day"
    if days == [0, 1, 2, 3, 4]:
        return "weekdays"
    if days == [5, 6]:
        return "weekends"
    return ", ".join(WEEKDAY_NAMES[day] for day in days)


def _time_text(moment: dt.time) -> str:
    return moment.strftime("%-I:%M %p") if moment.minute else moment.strftime("%-I %p")


def promotion_when(promotion) -> str:
    """When a promotion (or a points multiplier) applies, in words: 'Fri, Sat, 4 PM-7 PM, from Jun 1, 2026'."""
    parts = [weekdays_text(promotion.weekdays)]
    start, end = getattr(promotion, "start_time", None), getattr(promotion, "end_time", None)
    if start and end:
        parts.append(f"{_time_text(start)}–{_time_text(end)}")
    elif start:
        parts.append(f"from {_time_text(start)}")
    elif end:
        parts.append(f"until {_time_text(end)}")
    starts_on, ends_on = promotion.starts_on, promotion.ends_on
    if starts_on and ends_on:
        parts.append(
            f"{starts_on:%b} {starts_on.day}, {starts_on.year} to {ends_on:%b} {ends_on.day}, {ends_on.year}"
        )
    elif starts_on:
        parts.append(f"from {starts_on:%b} {starts_on.day}, {starts_on.year}")
    elif ends_on:
        parts.append(f"until {ends_on:%b} {ends_on.day}, {ends_on.year}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def promotion_settings_list(*, organization: Organization, active: bool | None = None) -> QuerySet[Promotion]:
    """The organization's promotions with their stores and how many codes each has."""
    promotions = (
        Promotion.objects.filter(organization=organization)
        .prefetch_related("stores")
        .annotate(coupon_count=Count("coupons"))
        .order_by("-active", "-priority", "name", "pk")
    )
    if active is not None:
        promotions = promotions.filter(active=active)
    return promotions


def promotion_settings_get(*, organization: Organization, promotion_id: int) -> Promotion | None:
    return Promotion.objects.filter(organization=organization, pk=promotion_id).first()


def coupon_settings_list(
    *, organization: Organization, promotion: Promotion | None = None, search: str = ""
) -> QuerySet[Coupon]:
    """The organization's codes with their promotion and their redemptions (voided sales' excluded)."""
    coupons = (
        Coupon.objects.filter(organization=organization)
        .select_related("promotion")
        .annotate(
            redemption_count=Count("redemptions", filter=Q(redemptions__reversed_at__isnull=True)),
        )
        .order_by("-created_at", "code")
    )
    if promotion is not None:
        coupons = coupons.filter(promotion=promotion)
    if search:
        coupons = coupons.filter(Q(code__icontains=search.strip()) | Q(message_id__icontains=search.strip()))
    return coupons


def coupon_settings_get(*, organization: Organization, coupon_id: int) -> Coupon | None:
    return Coupon.objects.filter(organization=organization, pk=coupon_id).select_related("promotion").first()


def coupons_by_id(*, organization: Organization, coupon_ids) -> list[Coupon]:
    return list(
        Coupon.objects.filter(organization=organization, pk__in=list(coupon_ids))
        .select_related("promotion")
        .order_by("code")
    )


@dataclass(frozen=True)
class AttributionRow:
    key: str  # the code, or the message id ("" for codes not sent by a message)
    redemptions: int
    discount: Decimal
    sales_total: Decimal
    first_used: dt.datetime
    last_used: dt.datetime


@dataclass(frozen=True)
class Attribution:
    by_coupon: list[AttributionRow]
    by_message: list[AttributionRow]
    truncated: bool


def _cents(value) -> Decimal:
    """Sums come back as Decimal, int or float depending on the database; money shows cents."""
    return Decimal(str(value or 0)).quantize(CENT)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def coupon_attribution(*, organization: Organization, start: dt.date, end: dt.date) -> Attribution:
    """Redemptions from `start` to `end` (local days of the current time zone, both included; voided sales
    left out) grouped by code and by message id: how many, the discount given, the totals of those sales (each
    sale once), first and last use. Two queries; at most ATTRIBUTION_MAX_ROWS groups each."""
    redemptions = CouponRedemption.objects.filter(
        coupon__organization=organization,
        reversed_at__isnull=True,
        redeemed_at__gte=_day_start(start),
        redeemed_at__lt=_day_start(end + dt.timedelta(days=1)),
    )

    def grouped(field: str, key: str) -> tuple[list[AttributionRow], bool]:
        # The sales' totals by a correlated subquery, so a sale with two codes of one message counts once.
        sales = (
            Sale.objects.filter(
                pk__in=redemptions.filter(**{field: OuterRef(OuterRef(key))}).order_by().values("sale_id")
            )
            .order_by()  # no ORDER BY beside the SUM (PostgreSQL refuses the default ordering there)
            .annotate(whole=Func(F("total"), function="SUM"))
            .values("whole")
        )
        rows = list(
            redemptions.order_by()
            .values(key)
            .annotate(
                count=Count("pk"),
                discount=Sum("amount"),
                sales_total=Subquery(sales[:1]),
                first=Min("redeemed_at"),
                last=Max("redeemed_at"),
            )
            .order_by("-count", key)[: ATTRIBUTION_MAX_ROWS + 1]
        )
        return [
            AttributionRow(
                key=row[key],
                redemptions=row["count"],
                discount=_cents(row["discount"]),
                sales_total=_cents(row["sales_total"]),
                first_used=row["first"],
                last_used=row["last"],
            )
            for row in rows[:ATTRIBUTION_MAX_ROWS]
        ], len(rows) > ATTRIBUTION_MAX_ROWS

    by_coupon, more_coupons = grouped("coupon__code", "coupon__code")
    by_message, more_messages = grouped("message_id", "message_id")
    return Attribution(by_coupon=by_coupon, by_message=by_message, truncated=more_coupons or more_messages)


def loyalty_program_get(*, organization: Organization) -> LoyaltyProgram | None:
    return LoyaltyProgram.objects.filter(organization=organization).first()


def loyalty_tier_list(*, organization: Organization) -> QuerySet[LoyaltyTier]:
    return LoyaltyTier.objects.filter(organization=organization).order_by("min_spend", "pk")


def points_multiplier_list(*, organization: Organization) -> QuerySet[PointsMultiplier]:
    return PointsMultiplier.objects.filter(organization=organization).order_by("-active", "name", "pk")


def reward_list(*, organization: Organization) -> QuerySet[Reward]:
    return Reward.objects.filter(organization=organization).order_by("-active", "points_cost", "pk")
