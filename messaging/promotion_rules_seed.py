"""The promotion rules the platform starts with (migration 0014 writes them; tests read them): where messages
must not name specific products. A conservative default for counsel to confirm and edit in the admin; a change
of the law is a new dated row. Every row is unconfirmed until counsel checks it against its source.

Seeded: medical-only states whose rules forbid or gate product advertising (Mississippi forbids advertising in
any media; Pennsylvania requires the Department of Health's prior approval of every advertising material, which
a recommendation chosen per customer cannot have). Elsewhere products may be promoted, within the content rules
(no health claims, nothing appealing to minors) that the message templates carry."""

import datetime as dt

PROMOTION_RULES: tuple[dict, ...] = (
    {
        "jurisdiction": "US-MS",
        "category": "",
        "allowed": False,
        "effective_from": dt.date(2022, 2, 2),
        "source": (
            "Mississippi Medical Cannabis Act (2022) and the State Department of Health's rules on advertising "
            "and marketing: no advertising in any media (upheld in Cocroft v. Graham, N.D. Miss. 2024)."
        ),
    },
    {
        "jurisdiction": "US-PA",
        "category": "",
        "allowed": False,
        "effective_from": dt.date(2016, 5, 17),
        "source": (
            "Pennsylvania Medical Marijuana Act (35 P.S. 10231.101 ff.) and 28 Pa. Code ch. 1161: advertising "
            "and marketing materials need the Department of Health's approval before use."
        ),
    },
)


def promotion_rules_seed(rule_model) -> None:
    for row in PROMOTION_RULES:
        rule_model.objects.get_or_create(
            jurisdiction=row["jurisdiction"],
            category=row["category"],
            effective_from=row["effective_from"],
            defaults={"allowed": row["allowed"], "source": row["source"], "confirmed": False},
        )


def promotion_rules_unseed(rule_model) -> None:
    for row in PROMOTION_RULES:
        rule_model.objects.filter(
            jurisdiction=row["jurisdiction"], category=row["category"], effective_from=row["effective_from"]
        ).delete()
