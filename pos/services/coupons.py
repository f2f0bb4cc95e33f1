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
