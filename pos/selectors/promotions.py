"""Loading what may discount a cart: the store's automatic and chosen promotions, the codes asked for with
their use counts, and the rewards asked for, as the engine's plain rules (a fixed number of queries, however
many promotions or codes exist). The store's promotions are read once per process until a promotion changes
(dispensary.versioned); codes and rewards, which count uses and points, are read each time they are asked for."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q

from dispensary.models import Customer, Store
from dispensary.versioned import Versioned
from pos.models import Coupon, CouponRedemption, Promotion, Reward
from pos.promotions import CouponRule, PromotionRule, RewardRule

PROMOTIONS = Versioned("promotions").watch(
    Promotion, m2m=(Promotion.stores.through, Promotion.products.through)
)
# The rewards offered at the counter (their names and costs, not anyone's points): read once per process too.
CHOICES = Versioned("promotion-choices").watch(
    Promotion, Reward, m2m=(Promotion.stores.through, Promotion.products.through)
)


@dataclass(frozen=True)
class PromotionData:
    promotions: tuple[PromotionRule, ...]
    coupons: dict[str, CouponRule]
    rewards: dict[int, RewardRule]


def promotion_rule(promotion: Promotion) -> PromotionRule:
    """The engine's rule of a promotion (its products prefetched)."""
    return PromotionRule(
        id=promotion.pk,
        name=promotion.name,
        kind=promotion.kind,
        value=Decimal(promotion.value),
        scope=promotion.scope,
        buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity,
        categories=tuple(promotion.categories or ()),
        brands=tuple(promotion.brands or ()),
        product_ids=frozenset(product.pk for product in promotion.products.all()),
        customer_group=promotion.customer_group,
        senior_age=promotion.senior_age,
        min_subtotal=promotion.min_subtotal,
        weekdays=tuple(int(day) for day in promotion.weekdays or ()),
        start_time=promotion.start_time,
        end_time=promotion.end_time,
        starts_on=promotion.starts_on,
        ends_on=promotion.ends_on,
        automatic=promotion.automatic,
        stackable=promotion.stackable,
        priority=promotion.priority,
        active=promotion.active,
    )


def _for_store(store: Store) -> Q:
    return Q(stores=store) | Q(stores__isnull=True)


def coupon_codes_normalize(coupon_codes: Sequence[str]) -> list[str]:
    """Codes as they are stored: trimmed, upper case, without blanks or repeats, in a fixed order."""
    return sorted({(code or "").strip().upper() for code in coupon_codes} - {""})


def promotion_data_get(
    *,
    store: Store,
    customer: Customer | None,
    coupon_codes: Sequence[str] = (),
    promotion_ids: Sequence[int] = (),
    reward_ids: Sequence[int] = (),
) -> PromotionData:
    """The active automatic promotions of the store, the chosen ones, the coupons whose codes were given (any
    case) and the rewards asked for. A read: completing a sale locks the coupon rows first
    (pos.services.sales), so two registers cannot both spend the last use of a code."""
    organization_id = store.organization_id
    chosen = {int(pk) for pk in promotion_ids}
    offered = store_promotions_get(store=store)
    promotions = [rule for rule in offered.values() if rule.active and (rule.automatic or rule.id in chosen)]
    promotions.sort(key=lambda rule: (-rule.priority, rule.name, rule.id))
    codes = coupon_codes_normalize(coupon_codes)
    coupon_rows = []
    if codes:
        coupon_rows = list(
            Coupon.objects.filter(organization_id=organization_id, code__in=codes).order_by("pk")
        )
    # A code whose promotion is not offered at this store is unknown here.
    coupon_promotions = {
        row.promotion_id: offered[row.promotion_id] for row in coupon_rows if row.promotion_id in offered
    }
    customer_uses = {}
    if coupon_rows and customer is not None:
        customer_uses = dict(
            CouponRedemption.objects.filter(
                coupon__in=coupon_rows, customer=customer, reversed_at__isnull=True
            )
            .values("coupon")
            .annotate(n=Count("pk"))
            .values_list("coupon", "n")
        )
    coupons = {}
    for row in coupon_rows:
        promotion = coupon_promotions.get(row.promotion_id)
        if promotion is None:
            continue  # its promotion is not offered at this store: the code is unknown here
        coupons[row.code.upper()] = CouponRule(
            id=row.pk,
            code=row.code.upper(),
            promotion=promotion,
            active=row.active,
            max_uses=row.max_uses,
            uses=row.uses,
            max_uses_per_customer=row.max_uses_per_customer,
            customer_uses=customer_uses.get(row.pk, 0),
            min_spend=row.min_spend,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            customer_id=row.customer_id,
            message_id=row.message_id,
        )
    rewards = {}
    wanted_rewards = [int(pk) for pk in reward_ids]
    if wanted_rewards:
        rewards = {
            row.pk: RewardRule(
                id=row.pk,
                name=row.name,
                points_cost=row.points_cost,
                kind=row.kind,
                value=Decimal(row.value),
                categories=tuple(row.categories or ()),
                active=row.active,
            )
            for row in Reward.objects.filter(organization_id=organization_id, pk__in=wanted_rewards)
        }
    return PromotionData(tuple(promotions), coupons, rewards)


def store_promotions_get(*, store: Store) -> dict[int, PromotionRule]:
    """Every promotion of the organization offered at `store` (active or not), as the engine's rules by id:
    read once per process until a promotion, its stores or its products change."""
    return PROMOTIONS.get(("store", store.pk), lambda: _store_promotions_load(store))


def _store_promotions_load(store: Store) -> dict[int, PromotionRule]:
    rows = (
        Promotion.objects.filter(organization_id=store.organization_id)
        .filter(pk__in=Promotion.objects.filter(_for_store(store)).values("pk"))
        .prefetch_related("products")
        .order_by("pk")
    )
    return {row.pk: promotion_rule(row) for row in rows}


def promotion_choice_list(*, store: Store) -> tuple[list[Promotion], list[Reward]]:
    """Promotions staff may choose at the counter (not automatic), and the active rewards: read once per
    process until a promotion or a reward changes (the instances are shared, read them only)."""
    promotions, rewards = CHOICES.get(("store", store.pk), lambda: _promotion_choices_load(store))
    return list(promotions), list(rewards)


def _promotion_choices_load(store: Store) -> tuple[tuple[Promotion, ...], tuple[Reward, ...]]:
    promotions = tuple(
        Promotion.objects.filter(organization_id=store.organization_id, active=True, automatic=False)
        .filter(pk__in=Promotion.objects.filter(_for_store(store)).values("pk"))
        .order_by("-priority", "name", "pk")
    )
    rewards = tuple(Reward.objects.filter(organization_id=store.organization_id, active=True))
    return promotions, rewards


def coupon_code_exists(*, organization_id: int, code: str) -> bool:
    """Whether `code` (as typed or scanned, any case) is one of the organization's coupon codes."""
    code = (code or "").strip().upper()
    if not code or len(code) > 40:
        return False
    return Coupon.objects.filter(organization_id=organization_id, code=code).exists()
