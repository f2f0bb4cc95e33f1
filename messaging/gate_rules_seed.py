"""The quiet hours and frequency caps the platform starts with (migration 0005 writes them; tests read them).
Counsel edits the tables in the admin afterwards: a change of the law is a new dated row, not an edit of an old one.

Every row concerns telephone solicitation (calls and texts) for marketing: the federal rule and the states that
are stricter. A weekday row replaces the every-day row of the same jurisdiction on that weekday (Texas Sunday)."""

import datetime as dt

TCPA = (
    "47 CFR 64.1200(c)(1) (TCPA): no telephone solicitation before 8 a.m. or after 9 p.m., "
    "called party's local time."
)
FLORIDA_HOURS = (
    "Fla. Stat. 501.059(8)(a) and 501.616(6)(a) (2021 SB 1120): 8 a.m. to 8 p.m., called person's local time."
)
OKLAHOMA = "Okla. Stat. tit. 15 §775C.4 (Telephone Solicitation Act of 2022)"
MARYLAND = "Md. Code Com. Law §§14-4501 to 14-4503 (Stop the Spam Calls Act of 2023)"

QUIET_HOURS: tuple[dict, ...] = (
    {
        "jurisdiction": "US",
        "weekday": None,
        "start": dt.time(8),
        "end": dt.time(21),
        "effective_from": dt.date(1992, 12, 20),
        "source": TCPA,
    },
    {
        "jurisdiction": "US-FL",
        "weekday": None,
        "start": dt.time(8),
        "end": dt.time(20),
        "effective_from": dt.date(2021, 7, 1),
        "source": FLORIDA_HOURS,
    },
    {
        "jurisdiction": "US-OK",
        "weekday": None,
        "start": dt.time(8),
        "end": dt.time(20),
        "effective_from": dt.date(2022, 11, 1),
        "source": f"{OKLAHOMA}: 8 a.m. to 8 p.m., called party's local time.",
    },
    {
        "jurisdiction": "US-MD",
        "weekday": None,
        "start": dt.time(8),
        "end": dt.time(20),
        "effective_from": dt.date(2024, 1, 1),
        "source": f"{MARYLAND}: 8 a.m. to 8 p.m., called party's time zone.",
    },
    {
        "jurisdiction": "US-WA",
        "weekday": None,
        "start": dt.time(8),
        "end": dt.time(20),
        "effective_from": dt.date(2000, 1, 1),
        "source": "RCW 80.36.390: no telephone solicitation before 8 a.m. or after 8 p.m.",
    },
    {
        "jurisdiction": "US-CT",
        "weekday": None,
        "start": dt.time(9),
        "end": dt.time(20),
        "effective_from": dt.date(2023, 10, 1),
        "source": "Conn. Gen. Stat. §42-288a (Public Act 23-98): 9 a.m. to 8 p.m.",
    },
    {
        "jurisdiction": "US-TX",
        "weekday": None,
        "start": dt.time(9),
        "end": dt.time(21),
        "effective_from": dt.date(2000, 1, 1),
        "source": "Tex. Bus. & Com. Code §301.051: 9 a.m. to 9 p.m. on a weekday or Saturday.",
    },
    {
        "jurisdiction": "US-TX",
        "weekday": 6,
        "start": dt.time(12),
        "end": dt.time(21),
        "effective_from": dt.date(2000, 1, 1),
        "source": "Tex. Bus. & Com. Code §301.051: noon to 9 p.m. on a Sunday.",
    },
)

FREQUENCY_CAPS: tuple[dict, ...] = (
    {
        "jurisdiction": "US-FL",
        "max_messages": 3,
        "period_hours": 24,
        "same_subject": True,
        "effective_from": dt.date(2021, 7, 1),
        "source": "Fla. Stat. 501.616(6)(b) (2021 SB 1120): no more than three commercial telephone solicitation "
        "calls to a person in 24 hours on the same subject matter or issue.",
    },
    {
        "jurisdiction": "US-OK",
        "max_messages": 3,
        "period_hours": 24,
        "same_subject": True,
        "effective_from": dt.date(2022, 11, 1),
        "source": f"{OKLAHOMA}: no more than three commercial telephonic sales calls in 24 hours on the same "
        "subject matter or issue.",
    },
    {
        "jurisdiction": "US-MD",
        "max_messages": 3,
        "period_hours": 24,
        "same_subject": True,
        "effective_from": dt.date(2024, 1, 1),
        "source": f"{MARYLAND}: no more than three telephone solicitations in 24 hours on the same subject "
        "matter or issue.",
    },
)


def gate_rules_seed(quiet_hours_model, frequency_cap_model) -> None:
    """Write the seed rows that are not there yet (the migration passes its historical models)."""
    for row in QUIET_HOURS:
        quiet_hours_model.objects.get_or_create(
            jurisdiction=row["jurisdiction"],
            weekday=row["weekday"],
            effective_from=row["effective_from"],
            applies_to="marketing",
            defaults={"start": row["start"], "end": row["end"], "source": row["source"]},
        )
    for row in FREQUENCY_CAPS:
        frequency_cap_model.objects.get_or_create(
            jurisdiction=row["jurisdiction"],
            effective_from=row["effective_from"],
            applies_to="marketing",
            defaults={
                "max_messages": row["max_messages"],
                "period_hours": row["period_hours"],
                "same_subject": row["same_subject"],
                "source": row["source"],
            },
        )


def gate_rules_unseed(quiet_hours_model, frequency_cap_model) -> None:
    for row in QUIET_HOURS:
        quiet_hours_model.objects.filter(
            jurisdiction=row["jurisdiction"],
            weekday=row["weekday"],
            effective_from=row["effective_from"],
            source=row["source"],
        ).delete()
    for row in FREQUENCY_CAPS:
        frequency_cap_model.objects.filter(
            jurisdiction=row["jurisdiction"], effective_from=row["effective_from"], source=row["source"]
        ).delete()
