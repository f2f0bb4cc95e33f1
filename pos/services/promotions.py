"""Managers' writes of promotions, coupons and the loyalty program, from the settings pages: each one checks the
rules of its row, writes it and its audit record in one transaction. Uniqueness (a coupon code, a tier's name or
threshold) is decided by the database's constraints and comes back as a field error."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from dispensary.audit import audit_record
from dispensary.errors import NotFound, ValidationFailed
from dispensary.models import Organization, Store
from inventory.models import Product
from pos.models import Coupon, LoyaltyProgram, LoyaltyTier, PointsMultiplier, Promotion, Reward

HUNDRED = Decimal("100")
CATEGORIES = frozenset(Product.Category.values)

PROMOTION_FIELDS = (
    "name",
    "kind",
    "scope",
    "value",
    "buy_quantity",
    "get_quantity",
    "categories",
    "customer_group",
    "senior_age",
    "min_subtotal",
    "weekdays",
    "start_time",
    "end_time",
    "starts_on",
    "ends_on",
    "automatic",
    "stackable",
    "priority",
    "active",
)


def _snapshot(instance, fields: Iterable[str]) -> dict:
    """JSON-safe values of `fields` for the audit record."""
    values = model_to_dict(instance, fields=list(fields))
    return {
        name: value if isinstance(value, bool | int | list | type(None)) else str(value)
        for name, value in values.items()
    }


def _days_problems(weekdays) -> list[str]:
    days = list(weekdays or [])
    if any(not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in days):
        return ["Weekdays are 0 (Monday) to 6 (Sunday)."]
    return []


def _categories_problems(categories) -> list[str]:
    unknown = sorted(set(categories or []) - CATEGORIES)
    return [f"Unknown product categories: {', '.join(map(str, unknown))}."] if unknown else []


def _dates_problems(values: dict) -> dict[str, list[str]]:
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        return {"ends_on": ["The end date is before the start date."]}
    return {}


def promotion_problems(values: dict) -> dict[str, list[str]]:
    """What is wrong with a promotion's values, by field (empty when nothing is). The forms show the same."""
    problems: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        problems["name"] = ["Give the promotion a name."]
    kind, value = values.get("kind"), values.get("value")
    if kind not in Promotion.Kind.values:
        problems["kind"] = ["Choose a kind of promotion."]
    if value is None or value < 0:
        problems["value"] = ["The value cannot be negative."]
    elif kind in (Promotion.Kind.PERCENT, Promotion.Kind.BUY_X_GET_Y) and value > HUNDRED:
        problems["value"] = ["A percentage is between 0 and 100."]
    if kind == Promotion.Kind.BUY_X_GET_Y:
        for name in ("buy_quantity", "get_quantity"):
            if not values.get(name):
                problems[name] = ["Buy X get Y needs both quantities (at least 1)."]
    if days := _days_problems(values.get("weekdays")):
        problems["weekdays"] = days
    if categories := _categories_problems(values.get("categories")):
        problems["categories"] = categories
    start_time, end_time = values.get("start_time"), values.get("end_time")
    if start_time is not None and start_time == end_time:
        problems["end_time"] = ["The happy hour ends when it starts; leave both empty for all day."]
    problems.update(_dates_problems(values))
    return problems


def _check_stores(organization: Organization, stores: Iterable[Store]) -> list[Store]:
    stores = list(stores)
    if any(store.organization_id != organization.pk for store in stores):
        raise ValidationFailed("Choose stores of this organization.", details={"stores": ["Unknown store."]})
    return stores


def _promotion_write(promotion: Promotion, values: dict, stores: Iterable[Store]) -> list[Store]:
    unknown = set(values) - set(PROMOTION_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown promotion fields.", details={"fields": sorted(unknown)})
    problems = promotion_problems({**_snapshot_raw(promotion), **values})
    if problems:
        raise ValidationFailed("The promotion was not saved: check the marked fields.", details=problems)
    stores = _check_stores(promotion.organization, stores)
    for name, value in values.items():
        setattr(promotion, name, value)
    if promotion.kind != Promotion.Kind.BUY_X_GET_Y:
        promotion.buy_quantity = promotion.get_quantity = None
    return stores


def _snapshot_raw(promotion: Promotion) -> dict:
    return {name: getattr(promotion, name) for name in PROMOTION_FIELDS}


def promotion_create(
    *, organization: Organization, actor, values: dict, stores: Iterable[Store] = ()
) -> Promotion:
    """A new promotion of `organization` (`values` by field name; no stores: every store)."""
    promotion = Promotion(organization=organization)
    stores = _promotion_write(promotion, values, stores)
    with transaction.atomic():
        promotion.save()
        promotion.stores.set(stores)
        audit_record(
            actor=actor,
            action="promotion.created",
            instance=promotion,
            after={**_snapshot(promotion, PROMOTION_FIELDS), "stores": sorted(s.pk for s in stores)},
            organization=organization,
        )
    return promotion


def promotion_update(
    *, promotion: Promotion, actor, values: dict, stores: Iterable[Store] | None = None
) -> Promotion:
    """Change `values` of the promotion (and its stores when given); its rules are checked as a whole."""
    with transaction.atomic():
        promotion = Promotion.objects.select_for_update(of=("self",)).get(pk=promotion.pk)
        before = {
            **_snapshot(promotion, PROMOTION_FIELDS),
            "stores": sorted(promotion.stores.values_list("pk", flat=True)),
        }
        new_stores = _promotion_write(promotion, values, promotion.stores.all() if stores is None else stores)
        promotion.save()
        promotion.stores.set(new_stores)
        audit_record(
            actor=actor,
            action="promotion.updated",
            instance=promotion,
            before=before,
            after={**_snapshot(promotion, PROMOTION_FIELDS), "stores": sorted(s.pk for s in new_stores)},
            organization=promotion.organization,
        )
    return promotion


def promotion_deactivate(*, promotion: Promotion, actor) -> Promotion:
    """The promotion no longer applies (its coupons stop working with it); history keeps it."""
    return promotion_update(promotion=promotion, actor=actor, values={"active": False})


# --- Coupons ------------------------------------------------------------------------------------------------

COUPON_FIELDS = (
    "code",
    "promotion",
    "max_uses",
    "max_uses_per_customer",
    "min_spend",
    "valid_from",
    "valid_until",
    "message_id",
    "active",
)


def coupon_code_normalize(code: str) -> str:
    return (code or "").strip().upper()


def coupon_create(
    *,
    organization: Organization,
    actor,
    code: str,
    promotion: Promotion,
    max_uses: int | None = None,
    max_uses_per_customer: int | None = None,
    min_spend: Decimal | None = None,
    valid_from=None,
    valid_until=None,
    message_id: str = "",
) -> Coupon:
    """A code for one of the organization's promotions, stored upper case; a code the organization already
    has is a field error (the unique constraint decides)."""
    code = coupon_code_normalize(code)
    problems: dict[str, list[str]] = {}
    if not code or not code.isalnum() or len(code) > 40:
        problems["code"] = ["A code is 1 to 40 letters and digits."]
    if promotion.organization_id != organization.pk:
        raise NotFound("No such promotion.")
    if valid_from and valid_until and valid_until <= valid_from:
        problems["valid_until"] = ["The code must stop being valid after it starts."]
    if min_spend is not None and min_spend < 0:
        problems["min_spend"] = ["The minimum spend cannot be negative."]
    if problems:
        raise ValidationFailed("The code was not created: check the marked fields.", details=problems)
    try:
        with transaction.atomic():
            coupon = Coupon.objects.create(
                organization=organization,
                code=code,
                promotion=promotion,
                max_uses=max_uses,
                max_uses_per_customer=max_uses_per_customer,
                min_spend=min_spend,
                valid_from=valid_from,
                valid_until=valid_until,
                message_id=(message_id or "").strip(),
            )
            audit_record(
                actor=actor,
                action="coupon.created",
                instance=coupon,
                after=_snapshot(coupon, COUPON_FIELDS),
                organization=organization,
            )
    except IntegrityError:
        raise ValidationFailed(
            f"The code {code} already exists.", details={"code": [f"The code {code} already exists."]}
        ) from None
    return coupon


def coupon_deactivate(*, coupon: Coupon, actor) -> Coupon:
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update(of=("self",)).get(pk=coupon.pk)
        if coupon.active:
            coupon.active = False
            coupon.save(update_fields=["active"])
            audit_record(
                actor=actor,
                action="coupon.deactivated",
                instance=coupon,
                before={"active": True},
                after={"active": False},
                organization=coupon.organization,
            )
    return coupon


# --- Loyalty ------------------------------------------------------------------------------------------------

PROGRAM_FIELDS = ("enabled", "points_per_currency_unit", "points_expire_after_days", "tier_window_days")
TIER_FIELDS = ("name", "min_spend", "earn_multiplier")
MULTIPLIER_FIELDS = ("name", "categories", "weekdays", "multiplier", "starts_on", "ends_on", "active")
REWARD_FIELDS = ("name", "points_cost", "kind", "value", "categories", "active")


def loyalty_program_save(*, organization: Organization, actor, values: dict) -> LoyaltyProgram:
    """The organization's loyalty program, created on first save."""
    problems: dict[str, list[str]] = {}
    rate = values.get("points_per_currency_unit")
    if rate is not None and rate < 0:
        problems["points_per_currency_unit"] = ["Points per dollar cannot be negative."]
    if not values.get("tier_window_days", 1) or values.get("tier_window_days", 1) < 1:
        problems["tier_window_days"] = ["The tier window is at least one day."]
    if problems:
        raise ValidationFailed("The program was not saved: check the marked fields.", details=problems)
    with transaction.atomic():
        program, created = LoyaltyProgram.objects.select_for_update(of=("self",)).get_or_create(
            organization=organization
        )
        before = None if created else _snapshot(program, PROGRAM_FIELDS)
        for name in PROGRAM_FIELDS:
            if name in values:
                setattr(program, name, values[name])
        program.save()
        audit_record(
            actor=actor,
            action="loyalty_program.saved",
            instance=program,
            before=before,
            after=_snapshot(program, PROGRAM_FIELDS),
            organization=organization,
        )
    return program


def _loyalty_row_save(
    *,
    model,
    organization: Organization,
    actor,
    values: dict,
    fields: tuple[str, ...],
    instance=None,
    problems: dict[str, list[str]] | None = None,
):
    """Create (`instance` None) or update one of the organization's loyalty rows with its audit record. A unique
    constraint that fails raises IntegrityError, with nothing written."""
    if instance is not None and instance.organization_id != organization.pk:
        raise NotFound("No such row.")
    if problems:
        raise ValidationFailed("Nothing was saved: check the marked fields.", details=problems)
    label = model._meta.model_name
    with transaction.atomic():
        if instance is None:
            row, before, action = model(organization=organization), None, f"{label}.created"
        else:
            row = model.objects.select_for_update(of=("self",)).get(pk=instance.pk)
            before, action = _snapshot(row, fields), f"{label}.updated"
        for name in fields:
            if name in values:
                setattr(row, name, values[name])
        row.save()
        audit_record(
            actor=actor,
            action=action,
            instance=row,
            before=before,
            after=_snapshot(row, fields),
            organization=organization,
        )
    return row


def loyalty_tier_save(
    *, organization: Organization, actor, values: dict, tier: LoyaltyTier | None = None
) -> LoyaltyTier:
    """A tier by its name, the spend over the tier window that reaches it and its earn multiplier. Names and
    thresholds are unique in the organization."""
    problems = {}
    if values.get("min_spend") is not None and values["min_spend"] < 0:
        problems["min_spend"] = ["The minimum spend cannot be negative."]
    if values.get("earn_multiplier") is not None and values["earn_multiplier"] < 0:
        problems["earn_multiplier"] = ["The multiplier cannot be negative."]
    try:
        return _loyalty_row_save(
            model=LoyaltyTier,
            organization=organization,
            actor=actor,
            values=values,
            fields=TIER_FIELDS,
            instance=tier,
            problems=problems,
        )
    except IntegrityError:
        # The database refused (nothing was written); now name the clashing field for the form.
        others = LoyaltyTier.objects.filter(organization=organization).exclude(pk=getattr(tier, "pk", None))
        details = {}
        if others.filter(name=values.get("name")).exists():
            details["name"] = ["Another tier already has this name."]
        if others.filter(min_spend=values.get("min_spend")).exists():
            details["min_spend"] = ["Another tier already starts at this spend."]
        raise ValidationFailed(
            "The tier clashes with another one.", details=details or {"name": ["The tier clashes."]}
        ) from None


def points_multiplier_save(
    *, organization: Organization, actor, values: dict, multiplier: PointsMultiplier | None = None
) -> PointsMultiplier:
    """Extra points on some categories or weekdays, between optional dates."""
    problems = {}
    if values.get("multiplier") is not None and values["multiplier"] < 0:
        problems["multiplier"] = ["The multiplier cannot be negative."]
    if days := _days_problems(values.get("weekdays")):
        problems["weekdays"] = days
    if categories := _categories_problems(values.get("categories")):
        problems["categories"] = categories
    problems.update(_dates_problems(values))
    return _loyalty_row_save(
        model=PointsMultiplier,
        organization=organization,
        actor=actor,
        values=values,
        fields=MULTIPLIER_FIELDS,
        instance=multiplier,
        problems=problems,
    )


def reward_save(*, organization: Organization, actor, values: dict, reward: Reward | None = None) -> Reward:
    """A reward customers buy with points: an amount or a percentage off, optionally on some categories."""
    problems = {}
    if values.get("kind") not in Reward.Kind.values:
        problems["kind"] = ["Choose a kind of reward."]
    value = values.get("value")
    if value is None or value < 0:
        problems["value"] = ["The value cannot be negative."]
    elif values.get("kind") == Reward.Kind.PERCENT and value > HUNDRED:
        problems["value"] = ["A percentage is between 0 and 100."]
    if not values.get("points_cost") or values["points_cost"] < 1:
        problems["points_cost"] = ["A reward costs at least one point."]
    if categories := _categories_problems(values.get("categories")):
        problems["categories"] = categories
    return _loyalty_row_save(
        model=Reward,
        organization=organization,
        actor=actor,
        values=values,
        fields=REWARD_FIELDS,
        instance=reward,
        problems=problems,
    )
