"""Issuing coupon codes in bulk (a mailing, a flyer): single-use codes of one promotion, unique per
organization (the unique constraint decides; a collision draws again)."""

import secrets

from django.db import IntegrityError, transaction

from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from pos.models import Coupon, Promotion

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed
MAX_CODES = 1000


def coupon_codes_generate(
    *, promotion: Promotion, count: int, actor, prefix: str = "", length: int = 8
) -> list[Coupon]:
    """`count` new single-use codes for `promotion`, each `prefix` plus random characters."""
    prefix = (prefix or "").strip().upper()
    if not 1 <= count <= MAX_CODES:
        raise ValidationFailed(f"Generate between 1 and {MAX_CODES} codes.", details={"count": [str(count)]})
    if len(prefix) + length > 40 or not prefix.isalnum() and prefix:
        raise ValidationFailed("The prefix is letters and digits, at most 32.", details={"prefix": [prefix]})
    created = []
    with transaction.atomic():
        while len(created) < count:
            code = prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))
            try:
                with transaction.atomic():
                    created.append(
                        Coupon.objects.create(
                            organization_id=promotion.organization_id,
                            code=code,
                            promotion=promotion,
                            max_uses=1,
                        )
                    )
            except IntegrityError:
                continue
        audit_record(
            actor=actor,
            action="coupon.generated",
            instance=promotion,
            after={"count": count, "prefix": prefix},
            organization=promotion.organization,
        )
    return created


def coupon_issue_personal(
    *,
    promotion: Promotion,
    customer_id: int,
    message_key: str,
    valid_until=None,
    min_spend=None,
    prefix: str = "",
    length: int = 8,
) -> Coupon:
    """One single-use code of `promotion` for one customer, carried by one message (`message_key`, the message's
    idempotency key): asked again for the same message, it returns the same code, so a retried flow step or
    campaign never issues two. Only that customer may redeem it; its redemption is attributed to the message."""
    message_key = str(message_key)
    existing = Coupon.objects.filter(
        organization_id=promotion.organization_id, message_id=message_key, customer_id=customer_id
    ).first()
    if existing is not None:
        return existing
    prefix = (prefix or "").strip().upper()
    for _ in range(10):
        code = prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    organization_id=promotion.organization_id,
                    code=code,
                    promotion=promotion,
                    customer_id=customer_id,
                    max_uses=1,
                    max_uses_per_customer=1,
                    min_spend=min_spend,
                    valid_until=valid_until,
                    message_id=message_key,
                )
        except IntegrityError:
            continue
    raise RuntimeError("Could not draw an unused coupon code.")
