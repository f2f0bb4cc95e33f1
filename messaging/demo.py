"""Messaging demo data (issue 14): the organization's two senders (a 10DLC number for marketing and a toll-free
number for notifications only); customers who agreed to marketing texts and emails at the counter (through the
consent service, with the disclosure they saw, 21+ affirmed, the budtender and the register; texts confirmed by
their YES reply), others never asked, a few who later replied STOP (the ledger's withdrawals, the reply, the
suppression); two replies in the inbox, one answered; and two weeks of messages with their timelines (receipts,
pickups, deliveries, some marketing): delivered mostly, a few not (30003, 30005, 30006), one bad day of carrier
filtering (30007) that raised an alert, two bounces and a complaint, a few refused by the rules.

The history is written directly (bulk, seeded random: the same on every machine), relative to the moment the
demo is loaded. Idempotent: a customer with a ledger already is left alone, replies and senders are found by
their keys, and the history is written once (its messages are marked `demo:` in their reference)."""

import datetime as dt
import random
import uuid

from django.db import transaction
from django.utils import timezone

from dispensary.clock import store_local_date, store_local_day_bounds
from dispensary.consent import disclosure_get, disclosure_text
from dispensary.demo import ORG_SLUG
from dispensary.models import Customer, MarketingConsent, Organization, Store, User
from dispensary.services import marketing_consent_record
from messaging.alerts import deliverability_alerts_raise
from messaging.demo_alpine import alpine_demo
from messaging.demo_attribution import attribution_demo
from messaging.demo_campaigns import campaigns_demo
from messaging.demo_flows import flows_demo
from messaging.demo_loyal import loyal_demo
from messaging.demo_segments import segments_demo
from messaging.gate import SUPPRESSION_WORDS
from messaging.models import (
    InboundMessage,
    MessageStatusEvent,
    MessagingAlert,
    OutboundMessage,
    Sender,
    Suppression,
)

SEED = 1414
HISTORY_DAYS = 14
MARK = "demo:"
TEN_DLC = "+14155550142"
TOLL_FREE = "+18885550123"
SENDERS = (
    dict(
        channel="sms",
        address=TEN_DLC,
        display_name="Emerald Coast offers",
        registration=Sender.Registration.TEN_DLC,
        use_case=Sender.UseCase.MARKETING,
        brand_id="BDEMO01",
        campaign_id="CDEMO01",
        rate_per_second=4,
    ),
    dict(
        channel="sms",
        address=TOLL_FREE,
        display_name="Emerald Coast notifications",
        registration=Sender.Registration.TOLL_FREE,
        use_case=Sender.UseCase.NOTIFICATIONS,
        campaign_id="TFV-DEMO-01",
        rate_per_second=3,
    ),
)
CONSENTED_PER_STORE = 12  # marketing texts and emails agreed at the counter
STOPPED = {"sf-mission": 2, "detroit-riverside": 1}  # of those, later replied STOP
TEXTS_PER_DAY = 16
EMAILS_PER_DAY = 7
BAD_DAY = ("sf-mission", 4)  # four days ago a marketing text was filtered by the carriers
FILTERED_ON_BAD_DAY = 5
BOUNCES = (("sf-mission", 9), ("detroit-riverside", 3))
COMPLAINT = ("sf-mission", 6)
TEXTS = {
    "receipt": "{store}: thanks for your visit! Receipt {number}, total ${total}. Reply STOP to opt out.",
    "pickup": "{store}: your order {number} is ready for pickup. Bring your ID. Reply STOP to opt out.",
    "delivery": "{store}: your driver is on the way, arriving {window}. Have your ID ready. Reply STOP to opt out.",
    "campaign": "{store}: 20% off edibles this weekend for members. 21+ only. Reply STOP to opt out.",
}
EMAILS = {
    "receipt": ("Your receipt from {store}", "Thanks for your visit. Receipt {number}, total ${total}."),
    "campaign": ("This weekend at {store}", "20% off edibles this weekend for loyalty members. 21+ only."),
}
# The gate's own words (messaging/gate.py), as a real refusal records them.
NO_CONSENT = "no_consent: the customer has not agreed to marketing {channel}s, or has withdrawn."
SUPPRESSED = f"suppressed: the address is suppressed ({SUPPRESSION_WORDS[Suppression.Reason.STOPPED]})."
UNDELIVERED = ("30003", "30005", "30006")


def _consent_record(**fields) -> MarketingConsent:
    """A ledger row through the consent service, with every detail (purpose, 21+, register, evidence)."""
    return marketing_consent_record(**fields)


def _ledger_row(customer, *, channel, purpose, granted, at, store, evidence) -> MarketingConsent:
    """A row the customer's reply wrote (YES, STOP): source keyword, its words as evidence."""
    disclosure = disclosure_get(channel)
    return MarketingConsent(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        disclosure_version=disclosure.version,
        disclosure_text=disclosure_text(disclosure, business=customer.organization.name),
        source="keyword",
        evidence=evidence,
        store=store,
        recorded_at=at,
    )


def _senders(organization) -> tuple[dict[str, Sender], int]:
    senders, added = {}, 0
    for spec in SENDERS:
        sender, created = Sender.objects.get_or_create(
            organization=organization,
            channel=spec["channel"],
            address=spec["address"],
            defaults={key: value for key, value in spec.items() if key not in ("channel", "address")},
        )
        senders[sender.address] = sender
        added += created
    return senders, added


def _people(organization, stores):
    """Per store: the customers who agreed (the first ones with an email), those of them who later stopped,
    and the others."""
    people = {}
    for code, store in stores.items():
        customers = list(
            Customer.objects.filter(organization=organization, home_store=store)
            .select_related("organization")
            .order_by("pk")[:80]
        )
        with_email = [customer for customer in customers if customer.email]
        consented = with_email[:CONSENTED_PER_STORE]
        stopped = consented[: STOPPED.get(code, 0)]
        others = [customer for customer in customers if customer not in consented]
        people[code] = {"consented": consented, "stopped": stopped, "others": others}
    return people


def _consents(people, stores, staff, now, senders) -> tuple[int, int]:
    """Counter grants (texts confirmed by YES) and STOPs. Returns (ledger rows, STOP replies) added."""
    rows, stops = 0, 0
    known = set(
        MarketingConsent.objects.filter(
            customer__in=[c for group in people.values() for c in group["consented"]]
        ).values_list("customer_id", flat=True)
    )
    replies, confirmations = [], []
    for code, group in people.items():
        store = stores[code]
        for index, customer in enumerate(group["consented"]):
            if customer.pk in known:
                continue
            granted_at = now - dt.timedelta(days=40 - index, hours=3)
            for channel in ("sms", "email"):
                _consent_record(
                    customer=customer,
                    channel=channel,
                    granted=True,
                    disclosure_version=disclosure_get(channel).version,
                    staff=staff["budtender"],
                    store=store,
                    source="counter",
                    now=granted_at,
                    purpose=MarketingConsent.Purpose.MARKETING,
                    age_affirmed=True,
                    register_label="Register 1",
                    awaiting_confirmation=channel == "sms",
                )
                rows += 1
            confirmations.append(
                _ledger_row(
                    customer,
                    channel="sms",
                    purpose=MarketingConsent.Purpose.MARKETING,
                    granted=True,
                    at=granted_at + dt.timedelta(minutes=2),
                    store=store,
                    evidence=f'Replied "YES" (SMdemoyes{customer.pk})',
                )
            )
            if customer in group["stopped"]:
                stopped_at = now - dt.timedelta(days=5 + index, hours=1)
                message_id = f"SMdemostop{customer.pk}"
                for purpose in (MarketingConsent.Purpose.MARKETING, MarketingConsent.Purpose.TRANSACTIONAL):
                    confirmations.append(
                        _ledger_row(
                            customer,
                            channel="sms",
                            purpose=purpose,
                            granted=False,
                            at=stopped_at,
                            store=store,
                            evidence=f'Replied "STOP" ({message_id})',
                        )
                    )
                replies.append(
                    InboundMessage(
                        organization_id=customer.organization_id,
                        store=store,
                        customer=customer,
                        from_number=customer.phone,
                        to_number=TEN_DLC,
                        body="STOP",
                        provider_message_id=message_id,
                        kind=InboundMessage.Kind.STOP,
                        received_at=stopped_at,
                        handled_at=stopped_at,
                    )
                )
                Suppression.objects.create(
                    organization_id=customer.organization_id,
                    channel="sms",
                    address=customer.phone,
                    reason=Suppression.Reason.STOPPED,
                    detail=f"Replied STOP ({message_id})",
                    created_at=stopped_at,
                )
                stops += 1
    MarketingConsent.objects.bulk_create(confirmations)
    InboundMessage.objects.bulk_create(replies)
    return rows + len(confirmations), stops


def _inbox(organization, stores, people, staff, now, senders) -> int:
    """Two replies for the store: one answered, one waiting."""
    added = 0
    store = stores["sf-mission"]
    customers = people["sf-mission"]["others"][:2]
    if len(customers) < 2:
        return 0
    asked = now - dt.timedelta(hours=5)
    specs = (
        ("SMdemoinbox1", customers[0], "Do you still have the Blue Dream pre-rolls?", asked, True),
        (
            "SMdemoinbox2",
            customers[1],
            "What time do you close on Sunday?",
            now - dt.timedelta(minutes=40),
            False,
        ),
    )
    for message_id, customer, body, at, answered in specs:
        if InboundMessage.objects.filter(provider_message_id=message_id).exists():
            continue
        reply = None
        if answered:
            reply = OutboundMessage.objects.create(
                organization=organization,
                store=store,
                customer=customer,
                channel="sms",
                purpose="reply",
                reference=f"{MARK}reply",
                sender=senders[TOLL_FREE],
                to=customer.phone,
                body="Hi! Yes, we have Blue Dream pre-rolls today. See you soon. Reply STOP to opt out.",
                segments=1,
                status=OutboundMessage.Status.DELIVERED,
                status_changed_at=at + dt.timedelta(minutes=12),
                sent_at=at + dt.timedelta(minutes=11),
                provider="console",
                provider_message_id=f"SMdemoanswer{customer.pk}",
                attempts=1,
            )
            OutboundMessage.objects.filter(pk=reply.pk).update(created_at=at + dt.timedelta(minutes=11))
            MessageStatusEvent.objects.bulk_create(
                [
                    MessageStatusEvent(message=reply, status=status, source=source, occurred_at=moment)
                    for status, source, moment in (
                        ("queued", "queue", at + dt.timedelta(minutes=11)),
                        ("sent", "provider", at + dt.timedelta(minutes=11, seconds=2)),
                        ("delivered", "callback", at + dt.timedelta(minutes=11, seconds=9)),
                    )
                ]
            )
        InboundMessage.objects.create(
            organization=organization,
            store=store,
            customer=customer,
            from_number=customer.phone,
            to_number=TOLL_FREE,
            body=body,
            provider_message_id=message_id,
            kind=InboundMessage.Kind.OTHER,
            received_at=at,
            handled_at=at + dt.timedelta(minutes=11) if answered else None,
            handled_by=staff["budtender"] if answered else None,
            reply=reply,
        )
        added += 1
    return added


def _history(organization, stores, people, senders, now) -> tuple[int, list]:
    """Two weeks of messages with their timelines, written in bulk. Returns (messages, days to check)."""
    rng = random.Random(SEED)
    messages, timelines, suppressions = [], [], []
    stopped_at = {
        customer.pk: now - dt.timedelta(days=5 + index, hours=1)
        for group in people.values()
        for index, customer in enumerate(group["stopped"])
    }

    def add(store, customer, channel, purpose, at, status, *, error_code="", reasons=()):
        marketing = purpose == "campaign"
        values = dict(
            store=store.name, number=f"R-{rng.randint(1000, 9999)}", total=f"{rng.randint(18, 140)}.00"
        )
        hour = (at.astimezone(store.tz) + dt.timedelta(hours=1)).strftime("%-I:%M %p")
        values["window"] = f"about {hour}"
        if channel == "sms":
            body, subject = TEXTS[purpose].format(**values), ""
            sender = senders[TEN_DLC] if marketing else senders[TOLL_FREE]
        else:
            subject, body = (text.format(**values) for text in EMAILS[purpose])
            sender = None
        sent = status not in ("refused",)
        message = OutboundMessage(
            organization=organization,
            store=store,
            customer=customer,
            channel=channel,
            category="marketing" if marketing else "transactional",
            purpose=purpose,
            topic="edibles weekend" if marketing else "",
            reference=f"{MARK}{purpose}",
            key=uuid.UUID(int=rng.getrandbits(128), version=4),
            sender=sender,
            to=customer.phone if channel == "sms" else customer.email,
            subject=subject,
            body=body,
            segments=1 if channel == "sms" else 0,
            status=status,
            status_changed_at=at,
            attempts=1,
            gate_reasons=list(reasons),
            provider=("console" if channel == "sms" else "smtp") if sent else "",
            provider_message_id=f"SMdemo{rng.getrandbits(48):012x}" if sent else "",
            error_code=error_code,
            sent_at=at + dt.timedelta(seconds=2) if sent else None,
        )
        message.demo_created_at = at
        steps = [("queued", "queue", at, "", "")]
        if status == "refused":
            steps.append(("refused", "gate", at + dt.timedelta(seconds=1), "", "; ".join(reasons)))
        else:
            steps.append(("sent", "provider", at + dt.timedelta(seconds=2), "", ""))
            report = "callback" if channel == "sms" else "webhook"
            later = at + dt.timedelta(seconds=rng.randint(4, 40))
            if status in ("delivered", "undelivered", "failed"):
                steps.append((status, report, later, error_code, ""))
        messages.append(message)
        timelines.append(steps)
        return message

    consented_by_store = {code: group["consented"] for code, group in people.items()}
    checks = []
    for code, store in stores.items():
        everyone = consented_by_store[code] + people[code]["others"]
        emailable = [customer for customer in everyone if customer.email]
        if not everyone:
            continue
        today = store_local_date(store, at=now)
        for days_ago in range(HISTORY_DAYS - 1, -1, -1):
            day = today - dt.timedelta(days=days_ago)
            start, _ = store_local_day_bounds(store, day)
            opening = start + dt.timedelta(hours=9)

            def moment(opening=opening):
                return opening + dt.timedelta(seconds=rng.randint(0, 12 * 3600))

            texts = TEXTS_PER_DAY + (10 if (code, days_ago) == (BAD_DAY[0], BAD_DAY[1]) else 0)
            for index in range(texts):
                at = moment()
                if at >= now - dt.timedelta(minutes=5):
                    continue
                roll = rng.random()
                purpose = (
                    "receipt"
                    if roll < 0.45
                    else "pickup"
                    if roll < 0.65
                    else "delivery"
                    if roll < 0.85
                    else "campaign"
                )
                bad_day = (code, days_ago) == BAD_DAY and index < FILTERED_ON_BAD_DAY
                if bad_day:
                    purpose = "campaign"
                customer = rng.choice(consented_by_store[code] if purpose == "campaign" else everyone)
                status, error, reasons = "delivered", "", ()
                if purpose == "campaign" and customer.pk in stopped_at and at > stopped_at[customer.pk]:
                    status, reasons = "refused", (SUPPRESSED,)
                elif purpose == "campaign" and rng.random() < 0.1:
                    customer = rng.choice(people[code]["others"] or everyone)
                    status, reasons = "refused", (NO_CONSENT.format(channel="text"),)
                elif bad_day:
                    status, error = "undelivered", "30007"
                elif rng.random() < 0.04:
                    status, error = "undelivered", rng.choice(UNDELIVERED)
                elif at > now - dt.timedelta(minutes=30):
                    status = "sent"  # the carrier has not reported yet
                add(store, customer, "sms", purpose, at, status, error_code=error, reasons=reasons)
            for index in range(EMAILS_PER_DAY):
                at = moment()
                if at >= now - dt.timedelta(minutes=5) or not emailable:
                    continue
                purpose = "campaign" if index == 0 else "receipt"
                pool = (
                    [c for c in consented_by_store[code] if c.email] if purpose == "campaign" else emailable
                )
                customer = rng.choice(pool or emailable)
                status, error = "delivered", ""
                if (code, days_ago) in BOUNCES and index == 1:
                    status, error = "undelivered", "bounce"
                message = add(store, customer, "email", purpose, at, status, error_code=error)
                if error == "bounce":
                    suppressions.append((message, Suppression.Reason.BOUNCED, at + dt.timedelta(minutes=1)))
                if (code, days_ago) == COMPLAINT and index == 0:
                    suppressions.append((message, Suppression.Reason.COMPLAINED, at + dt.timedelta(hours=2)))
            if days_ago:
                checks.append((store, store_local_day_bounds(store, day)[1] - dt.timedelta(microseconds=1)))

    OutboundMessage.objects.bulk_create(messages, batch_size=500)
    for message in messages:
        message.created_at = message.demo_created_at
    OutboundMessage.objects.bulk_update(messages, ["created_at"], batch_size=500)
    MessageStatusEvent.objects.bulk_create(
        [
            MessageStatusEvent(
                message=message, status=status, source=source, occurred_at=at, error_code=code, detail=detail
            )
            for message, steps in zip(messages, timelines, strict=True)
            for status, source, at, code, detail in steps
        ],
        batch_size=1000,
    )
    Suppression.objects.bulk_create(
        [
            Suppression(
                organization=organization,
                channel="email",
                address=message.to.lower(),
                reason=reason,
                detail="Reported by the email provider (demo).",
                message=message,
                created_at=at,
            )
            for message, reason, at in suppressions
        ]
    )
    return len(messages), checks


@transaction.atomic
def demo_load() -> dict[str, int]:
    added = {
        "senders": 0,
        "consent rows": 0,
        "STOP replies": 0,
        "inbox replies": 0,
        "messages": 0,
        "alerts": 0,
        "segments": 0,
        "campaigns": 0,
    }
    organization = Organization.objects.filter(slug=ORG_SLUG).first()
    if organization is None:
        return added
    stores = {store.code: store for store in Store.objects.filter(organization=organization).order_by("pk")}
    if not stores:
        return added
    now = timezone.now()
    staff = {user.username: user for user in User.objects.filter(username__in=["budtender", "manager"])}
    if "budtender" not in staff:
        return added
    senders, added["senders"] = _senders(organization)
    people = _people(organization, stores)
    added["consent rows"], added["STOP replies"] = _consents(people, stores, staff, now, senders)
    added["inbox replies"] = _inbox(organization, stores, people, staff, now, senders)
    added["loyalty page links"] = loyal_demo(organization, stores, people)
    added["loyalty members linked"] = alpine_demo(organization, stores, people)
    if not OutboundMessage.objects.filter(
        organization=organization, reference__startswith=f"{MARK}receipt"
    ).exists():
        added["messages"], checks = _history(organization, stores, people, senders, now)
        before = MessagingAlert.objects.filter(organization=organization).count()
        for store, end_of_day in checks:
            deliverability_alerts_raise(now=end_of_day, stores=[store])
        added["alerts"] = MessagingAlert.objects.filter(organization=organization).count() - before
    added["flow enrollments"] = flows_demo(
        organization, stores, [c for p in people.values() for c in p["consented"]]
    )
    added["attribution"] = sum(attribution_demo(organization, stores, people).values())
    added["segments"] = segments_demo(organization, stores, people)
    added["campaigns"] = campaigns_demo(organization, stores, people)
    return added
