"""Messages to customers and what the road they travel needs (issue 14): the senders registered with the
carriers, the queue of outbound messages with their status timeline, suppressions, replies, the dated tables of
quiet hours and frequency caps that counsel edits, templates, tracked short links and deliverability alerts.

Consent itself lives in the append-only ledger `dispensary.MarketingConsent` (one row per grant, revocation or
confirmation, per customer, channel and purpose); the current state is derived from it, never stored."""

import uuid

from django.conf import settings
from django.db import models

from dispensary.models import Customer, Organization, Store


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"


class Category(models.TextChoices):
    """What the law and the carriers care about: a transactional message (a receipt, an order or delivery
    update, a reply) or a marketing one (offers, campaigns, flows)."""

    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


class Sender(models.Model):
    """A number or address messages go out from, with what it is registered for with the carriers. The queue
    never sends marketing through a sender registered only for notifications: carriers block such traffic."""

    class Registration(models.TextChoices):
        TEN_DLC = "10dlc", "10DLC (brand and campaign)"
        TOLL_FREE = "toll_free", "Toll-free (verified)"
        SHORT_CODE = "short_code", "Short code"
        EMAIL = "email", "Email sending domain"

    class UseCase(models.TextChoices):
        MARKETING = "marketing", "Marketing and notifications"
        NOTIFICATIONS = "notifications", "Account and delivery notifications only"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: every store of the organization.",
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    address = models.CharField(max_length=254, help_text="E.164 number, short code, or From email address.")
    display_name = models.CharField(max_length=100, blank=True)
    registration = models.CharField(max_length=10, choices=Registration.choices)
    use_case = models.CharField(max_length=13, choices=UseCase.choices)
    brand_id = models.CharField("10DLC brand id", max_length=60, blank=True)
    campaign_id = models.CharField("10DLC campaign id / verification id", max_length=60, blank=True)
    rate_per_second = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=1,
        help_text="Messages per second the registration allows (10DLC: by brand score; toll-free: 3; short code: 100).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "channel", "address"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel", "address"], name="messaging_sender_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rate_per_second__gt=0), name="messaging_sender_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_use_case_display()})"

    @property
    def may_send_marketing(self) -> bool:
        return self.use_case == self.UseCase.MARKETING


class OutboundMessage(models.Model):
    """One text or email to one recipient. Queued by an event, judged by the gate when it is sent (not when it
    is queued), sent once (`key` is its idempotency key at the provider), then moved forward by the provider's
    status callbacks. A message caused by an event is keyed by that event and its channel."""

    Channel = Channel
    Category = Category

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Not delivered"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Not sent (refused by the rules)"
        EXPIRED = "expired", "Not sent (too late to be useful)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbound_messages"
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    category = models.CharField(max_length=13, choices=Category.choices, default=Category.TRANSACTIONAL)
    purpose = models.CharField(
        max_length=40, help_text="receipt, delivery, pickup, loyalty, reply, campaign, flow, ..."
    )
    topic = models.CharField(
        max_length=80,
        blank=True,
        help_text="The subject of a marketing message, for the states' same-subject caps.",
    )
    reference = models.CharField(max_length=80, blank=True, help_text='What it is about, e.g. "sale:42".')
    key = models.UUIDField(
        default=uuid.uuid4, unique=True, help_text="Idempotency key: one message, sent once."
    )
    sender = models.ForeignKey(Sender, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to = models.CharField(max_length=254, help_text="E.164 phone number or email address.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    template_key = models.CharField(max_length=60, blank=True)
    language = models.CharField(max_length=8, default="en")
    segments = models.PositiveSmallIntegerField(default=0, help_text="SMS parts billed (GSM-7 or UCS-2).")
    status = models.CharField(max_length=11, choices=Status.choices, default=Status.QUEUED)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    send_after = models.DateTimeField(null=True, blank=True, help_text="Not before (quiet hours, backoff).")
    send_before = models.DateTimeField(null=True, blank=True, help_text="Not worth sending after this.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.UUIDField(
        null=True, blank=True, editable=False, help_text="The batch of the worker that is sending it."
    )
    gate_reasons = models.JSONField(default=list, blank=True, help_text="Why the gate held or refused it.")
    provider = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=120, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    source_event = models.UUIDField(null=True, blank=True, help_text="The outbox event that caused it.")
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        help_text="The first message this one tries again (a text the carrier could not reach the phone with).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_event", "channel"],
                condition=models.Q(source_event__isnull=False),
                name="messaging_one_message_per_event_channel",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="messaging_out_org_time"),
            models.Index(fields=["customer", "created_at"], name="messaging_out_customer_time"),
            models.Index(fields=["status", "send_after"], name="messaging_out_due"),
            # The queue's order: the oldest queued first, read without sorting the whole backlog.
            models.Index(fields=["status", "created_at", "id"], name="messaging_out_queue_order"),
            models.Index(fields=["provider_message_id"], name="messaging_out_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to} ({self.status})"


class MessageStatusEvent(models.Model):
    """The message's timeline: every status it passed through, from the queue, the gate, the provider's answer
    or its callbacks (kept even when a late callback does not move the status back), and the email provider's
    opens and clicks, which are events of the timeline but never the message's status."""

    class Engagement(models.TextChoices):
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked a link"

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="status_events")
    status = models.CharField(max_length=11, choices=[*OutboundMessage.Status.choices, *Engagement.choices])
    error_code = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=20, help_text="queue, gate, provider, callback, webhook.")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "occurred_at", "id"]
        indexes = [models.Index(fields=["message", "occurred_at"], name="messaging_status_msg_time")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status} {self.occurred_at:%Y-%m-%d %H:%M}"


class Suppression(models.Model):
    """An address no message may go to, whatever the consent says: the carrier's 21610 (the number replied
    STOP), an invalid or landline number, a bounced or complaining email, a one-click unsubscribe. Lifted (never
    deleted) when the customer opts back in or staff correct it."""

    class Reason(models.TextChoices):
        STOPPED = "stopped", "Replied STOP"
        INVALID = "invalid", "Not a valid phone number"
        NOT_MOBILE = "not_mobile", "Not a mobile number"
        BOUNCED = "bounced", "Email bounced"
        COMPLAINED = "complained", "Marked as spam"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SUNSET = "sunset", "Stopped engaging (left a win-back flow without buying)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    address = models.CharField(max_length=254, help_text="E.164 number or lower-cased email address.")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    category = models.CharField(
        max_length=13,
        choices=Category.choices,
        blank=True,
        help_text="Empty: every message; marketing: marketing only (an unsubscribe).",
    )
    detail = models.CharField(max_length=500, blank=True)
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "channel", "address"], name="messaging_suppr_address")
        ]

    def __str__(self) -> str:
        return f"{self.address}: {self.get_reason_display()}"


class InboundMessage(models.Model):
    """A text a customer sent us. Keywords (STOP, START, HELP) are handled at once; anything else waits in the
    store's inbox for staff to answer."""

    class Kind(models.TextChoices):
        STOP = "stop", "Stop request"
        START = "start", "Opt back in"
        HELP = "help", "Help request"
        CONFIRM = "confirm", "Confirmation (double opt-in)"
        OTHER = "other", "Message for the store"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    body = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=7, choices=Kind.choices)
    received_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reply = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organization", "kind", "handled_at"], name="messaging_inbox")]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:40]}"


class RuleScope(models.TextChoices):
    MARKETING = "marketing", "Marketing messages"
    ALL = "all", "Every message"


class QuietHoursRule(models.Model):
    """When messages may reach a recipient, in the recipient's local time, as counsel reads the law: one row per
    jurisdiction ("US" for the federal rule, "US-FL" for Florida), dated, optionally per weekday. The gate takes
    the strictest window of every jurisdiction that applies (the number's area code, the address, the store)."""

    jurisdiction = models.CharField(max_length=6, help_text='"US" (federal) or a state such as "US-FL".')
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 Monday ... 6 Sunday; empty: every day."
    )
    start = models.TimeField(help_text="Earliest local time a message may arrive.")
    end = models.TimeField(help_text="Local time from which no message may arrive.")
    applies_to = models.CharField(max_length=9, choices=RuleScope.choices, default=RuleScope.MARKETING)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=300, help_text="The statute or rule, for the record.")

    class Meta:
        ordering = ["jurisdiction", "weekday", "effective_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.start:%H:%M}-{self.end:%H:%M}"


class FrequencyCapRule(models.Model):
    """How many messages a state allows to one person in a period (Florida, Oklahoma: 3 marketing messages on
    the same subject in 24 hours)."""

    jurisdiction = models.CharField(max_length=6)
    max_messages = models.PositiveSmallIntegerField()
    period_hours = models.PositiveSmallIntegerField(default=24)
    same_subject = models.BooleanField(default=True)
    applies_to = models.CharField(max_length=9, choices=RuleScope.choices, default=RuleScope.MARKETING)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=300)

    class Meta:
        ordering = ["jurisdiction", "effective_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.max_messages} per {self.period_hours} h"


class MessageTemplate(models.Model):
    """The words of one kind of message, per store (or the organization's default), channel and language,
    with {variables} from the customer, the order and the store."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    key = models.SlugField(max_length=60, help_text="pickup_ready, delivery_on_the_way, points_earned, ...")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    language = models.CharField(max_length=8, default="en")
    category = models.CharField(max_length=13, choices=Category.choices, default=Category.TRANSACTIONAL)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "store", "key", "channel", "language"],
                condition=models.Q(store__isnull=False),
                name="messaging_template_unique_store",
            ),
            models.UniqueConstraint(
                fields=["organization", "key", "channel", "language"],
                condition=models.Q(store__isnull=True),
                name="messaging_template_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.channel}, {self.language})"


class ShortLink(models.Model):
    """A link in a message, shortened to the platform's own domain: counts its clicks and lands on the age gate
    before any product content."""

    code = models.CharField(max_length=12, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="links"
    )
    target_url = models.URLField(max_length=1000)
    age_gate = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} -> {self.target_url}"


class LinkClick(models.Model):
    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    clicked_at = models.DateTimeField()
    passed_age_gate = models.BooleanField(default=False)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-clicked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.link_id} at {self.clicked_at:%Y-%m-%d %H:%M}"


class MessagingAlert(models.Model):
    """Raised once per kind, store and day when deliverability turns bad: carrier filtering (30007) or bounces
    above the threshold. Managers acknowledge it."""

    class Kind(models.TextChoices):
        FILTERING = "filtering", "Carriers are filtering texts"
        BOUNCES = "bounces", "Emails are bouncing"
        COMPLAINTS = "complaints", "Emails marked as spam"
        FLOW = "flow", "A flow asks staff to act"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    scope = models.CharField(
        max_length=40, default="", blank=True, help_text='The store\'s code, or "" for all.'
    )
    day = models.DateField()
    message = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "kind", "day"], name="messaging_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.day}"


class SenderPace(models.Model):
    """The pacing state of one sender (a token bucket kept as its next free sending slot), shared by every
    worker: a worker reserves its slots by moving `next_slot_at` forward under a row lock, so several workers
    together never send faster than the sender's rate. Key: "sender:<id>", or "default:<channel>" for the
    number or address from the settings."""

    key = models.CharField(max_length=40, unique=True)
    next_slot_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: next slot {self.next_slot_at:%H:%M:%S.%f}"


# --- The retention engine (issue 15): segments, flows, campaigns, attribution ---------------------------------
# Flows and campaigns decide what to send to whom; every message they make goes through
# `messaging.retention.retention_message_enqueue` (category marketing, with a topic), so the consent ledger,
# the gate and the queue judge it like any other.


class Segment(models.Model):
    """Customers matching a list of conditions over what the platform knows (`messaging.segments` reads the
    rules; its docstring is the rule format). Members are kept current as events arrive (SegmentMember)."""

    class Match(models.TextChoices):
        ALL = "all", "All of the conditions"
        ANY = "any", "Any of the conditions"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    rules = models.JSONField(default=list, blank=True, help_text="Conditions: see messaging.segments.")
    member_count = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="messaging_segment_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A customer in a saved segment now; the row goes when they leave (entering is an event flows react to)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="messaging_segment_member_once")
        ]
        indexes = [models.Index(fields=["customer"], name="messaging_segmember_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class Flow(models.Model):
    """An automated series, modelled on Klaviyo's flow definition: a trigger, filters re-checked before every
    step, steps (FlowStep, a tree of delays, splits and actions), a goal that ends it, and a re-entry rule.
    `trigger` is {"type": "event", "event": "pos.sale_completed", ...} | {"type": "segment", "segment": id} |
    {"type": "date", "field": "birthday", ...} | {"type": "inactivity", "days": 30}; `filters` is a list of
    conditions in the segment rule format."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"

    class Goal(models.TextChoices):
        NONE = "", "None"
        PURCHASE = "purchase", "A purchase"

    class Reentry(models.TextChoices):
        NEVER = "never", "Never: once per customer"
        AFTER_DAYS = "after_days", "Again after some days"
        ALWAYS = "always", "Every time the trigger happens"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    template = models.CharField(
        max_length=40, blank=True, help_text="The ready-made flow it started from (welcome, winback, ...)."
    )
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    trigger = models.JSONField(default=dict)
    filters = models.JSONField(default=list, blank=True)
    filter_match = models.CharField(max_length=3, choices=Segment.Match.choices, default=Segment.Match.ALL)
    goal = models.CharField(max_length=10, choices=Goal.choices, default=Goal.PURCHASE, blank=True)
    reentry = models.CharField(max_length=10, choices=Reentry.choices, default=Reentry.NEVER)
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    stores = models.ManyToManyField(Store, blank=True, related_name="+", help_text="Empty: every store.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    went_live_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class FlowStep(models.Model):
    """One step of a flow. Steps form a tree: a step's children (by `parent` and `branch`) run after it, in
    `position` order; a split's children carry the branch they are on ("yes"/"no", or "a"/"b" for an A/B split).
    `config` by kind:
    - delay: {"days": 3} | {"hours": 2} | {"next_day_at": "10:00"} (store-local);
    - condition (a conditional split): {"test": "opened"|"clicked"|"purchased"} since entering the flow, or
      {"test": "property", "condition": <a segment condition>};
    - ab_split: {"share_a": 50, "winner": {"metric": "clicked"|"purchased"|"opened", "after_days": 3}};
    - send_sms / send_email: {"body": ..., "subject": ..., "template_key": ...};
    - coupon: {"promotion": id, "valid_days": 14, "min_spend": "40.00"};
    - points: {"points": 50, "note": ...}; profile: {"field": ..., "value": ...};
    - webhook: {"url": ...}; alert_staff: {"message": ...};
    - exit: {"suppress_marketing": false}."""

    class Kind(models.TextChoices):
        DELAY = "delay", "Wait"
        CONDITION = "condition", "Conditional split"
        AB_SPLIT = "ab_split", "A/B split"
        SEND_SMS = "send_sms", "Send a text"
        SEND_EMAIL = "send_email", "Send an email"
        COUPON = "coupon", "Issue a coupon"
        POINTS = "points", "Add points"
        PROFILE = "profile", "Update the profile"
        WEBHOOK = "webhook", "Call a webhook"
        ALERT_STAFF = "alert_staff", "Alert staff"
        EXIT = "exit", "End the flow"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    branch = models.CharField(max_length=3, blank=True, help_text='Under a split: "yes", "no", "a" or "b".')
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=11, choices=Kind.choices)
    name = models.CharField(max_length=120, blank=True)
    config = models.JSONField(default=dict, blank=True)
    winner = models.CharField(
        max_length=1,
        blank=True,
        help_text='An A/B split\'s chosen variant ("a" or "b") once its rule decided.',
    )
    winner_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flow_id", "parent_id", "branch", "position", "id"]

    def __str__(self) -> str:
        return self.name or self.get_kind_display()


class FlowEnrollment(models.Model):
    """A customer going through a flow once: where they are, when the next step is due, and how it ended.
    `trigger_key` makes one trigger enrol once (the event's id, the segment entry, the date's year)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "In the flow"
        COMPLETED = "completed", "Finished every step"
        CONVERTED = "converted", "Left on reaching the goal"
        FILTERED = "filtered", "Left: no longer fits the filters"
        STOPPED = "stopped", "Left: no longer reachable (STOP, unsubscribed)"
        CANCELLED = "cancelled", "Cancelled by staff or the flow was turned off"

    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="enrollments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    trigger_key = models.CharField(max_length=80)
    context = models.JSONField(default=dict, blank=True, help_text="Facts of the trigger (sale id, cart id).")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.ACTIVE)
    next_step = models.ForeignKey(
        FlowStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "customer", "trigger_key"], name="messaging_flow_enrol_once_per_trigger"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_run_at"], name="messaging_enrol_due"),
            models.Index(fields=["customer", "status"], name="messaging_enrol_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in flow {self.flow_id} ({self.status})"


class FlowStepRun(models.Model):
    """A step done for one enrollment: unique, so no step runs twice for a customer, whatever the retries."""

    enrollment = models.ForeignKey(FlowEnrollment, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(FlowStep, on_delete=models.PROTECT, related_name="runs")
    ran_at = models.DateTimeField()
    outcome = models.CharField(
        max_length=40, blank=True, help_text='"sent", "yes", "no", "a", "b", "skipped"...'
    )
    detail = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["enrollment_id", "ran_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="messaging_flow_step_once")
        ]

    def __str__(self) -> str:
        return f"step {self.step_id} for {self.enrollment_id}: {self.outcome}"


class Campaign(models.Model):
    """A one-off message to a segment, sent at a store-local time, optionally A/B tested on a share first."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        TESTING = "testing", "Testing on a share"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    topic = models.CharField(max_length=80, help_text="What it is about, for the same-subject caps.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    variant_b_subject = models.CharField(max_length=200, blank=True)
    variant_b_body = models.TextField(blank=True, help_text="Empty: no A/B test.")
    test_share = models.PositiveSmallIntegerField(default=0, help_text="Percent of the segment tested first.")
    winner_metric = models.CharField(max_length=10, blank=True, help_text="clicked, purchased or opened.")
    winner_after_hours = models.PositiveIntegerField(default=4)
    winner = models.CharField(max_length=1, blank=True)
    coupon_promotion = models.ForeignKey(
        "pos.Promotion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    coupon_valid_days = models.PositiveIntegerField(default=14)
    send_on = models.DateField(null=True, blank=True, help_text="Each store's local day.")
    send_at = models.TimeField(null=True, blank=True, help_text="Each store's local time.")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.DRAFT)
    recipients_total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CampaignRecipient(models.Model):
    """One customer of a campaign: unique, so a campaign reaches each customer once whatever the retries."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    variant = models.CharField(
        max_length=1, blank=True, help_text='"a", "b", or empty (the rest, the winner).'
    )
    due_at = models.DateTimeField(help_text="The campaign's local time at this customer's store.")
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="messaging_campaign_recipient_once")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} of campaign {self.campaign_id}"


class MessageOrigin(models.Model):
    """Which flow step or campaign (and variant) a marketing message came from: what results are counted by."""

    message = models.OneToOneField(OutboundMessage, on_delete=models.CASCADE, related_name="origin")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    flow_step = models.ForeignKey(FlowStep, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    variant = models.CharField(max_length=1, blank=True)
    coupon = models.ForeignKey(
        "pos.Coupon", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["flow_step"], name="messaging_origin_step"),
            models.Index(fields=["campaign", "variant"], name="messaging_origin_campaign"),
        ]

    def __str__(self) -> str:
        return f"origin of message {self.message_id}"


class MessageConversion(models.Model):
    """A sale credited to a message: by the coupon code it carried, or by a purchase within the attribution
    window after a click. One sale is credited to one message at most."""

    class Kind(models.TextChoices):
        CODE = "code", "Redeemed the message's coupon"
        CLICK = "click", "Bought within the window after a click"

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="conversions")
    sale = models.OneToOneField("pos.Sale", on_delete=models.CASCADE, related_name="message_conversion")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    revenue = models.DecimalField(max_digits=12, decimal_places=2)
    occurred_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True, help_text="The sale was voided.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["message"], name="messaging_conversion_message")]

    def __str__(self) -> str:
        return f"sale {self.sale_id} by message {self.message_id} ({self.kind})"


# --- The customer's loyalty page and what messages may promote ----------------------------------------------


class LoyaltyPageLink(models.Model):
    """A link to a customer's own loyalty page, texted to them: /my/<signed customer id and nonce>/. It opens
    nothing by itself: the page asks for a one-time PIN texted at that moment. Valid until `expires_at`,
    unless revoked (by staff, or locked after too many wrong PINs)."""

    class Via(models.TextChoices):
        CUSTOMER = "customer", "Asked for by the customer"
        STAFF = "staff", "Sent by staff"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    via = models.CharField(max_length=8, choices=Via.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="messaging_loyaltylink_customer")]

    def __str__(self) -> str:
        return f"loyalty page link {self.pk} of customer {self.customer_id}"


class LoyaltyPagePin(models.Model):
    """A 6-digit one-time PIN for one link, stored hashed, valid for minutes and for a few tries."""

    link = models.ForeignKey(LoyaltyPageLink, on_delete=models.CASCADE, related_name="pins")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"PIN {self.pk} of link {self.link_id}"


class PromotionRule(models.Model):
    """Whether messages may promote specific products of a category in a jurisdiction, as counsel reads the
    law: dated rows, a change of the law is a new row. Empty category: every category. A category's own row
    wins over the every-category row; no row at all: allowed."""

    jurisdiction = models.CharField(max_length=6, help_text='A state such as "US-MS".')
    category = models.CharField(max_length=20, blank=True, help_text="A product category; empty: every one.")
    allowed = models.BooleanField()
    effective_from = models.DateField()
    effective_to = models.DateField(
        null=True, blank=True, help_text="Last day in force; empty while in force."
    )
    source = models.CharField(max_length=300, help_text="The statute or rule, for the record.")
    confirmed = models.BooleanField(default=False, help_text="Counsel confirmed this row against the source.")

    class Meta:
        ordering = ["jurisdiction", "category", "effective_from"]

    def __str__(self) -> str:
        what = self.category or "every category"
        return f"{self.jurisdiction} {what}: {'allowed' if self.allowed else 'not promoted'}"


# --- Integrations: Klaviyo (issue 15) ------------------------------------------------------------------------------


class KlaviyoAccount(models.Model):
    """An organization's connection to its Klaviyo account: the private API key (kept encrypted, shown back
    only as its last characters), the lists that email and SMS subscriptions join, and whether sync is on."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="klaviyo_account"
    )
    enabled = models.BooleanField(default=False)
    api_key_encrypted = models.TextField(blank=True)
    api_key_hint = models.CharField(max_length=12, blank=True, help_text="The key's last characters.")
    email_list_id = models.CharField(max_length=40, blank=True)
    sms_list_id = models.CharField(max_length=40, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Klaviyo of {self.organization_id}"


class KlaviyoSyncRecord(models.Model):
    """The outcome of one write to Klaviyo, one row per (account, kind, unique id): a profile (one row per
    customer, updated by each upsert), a subscription change (per consent row and channel), an event (its
    Klaviyo unique_id). Retries in flight are the outbox deliveries' (attempts, last error, next retry); the
    row keeps how many attempts it took and the error before the last one."""

    class Kind(models.TextChoices):
        PROFILE = "profile", "Profile"
        SUBSCRIBE = "subscribe", "Subscription"
        UNSUBSCRIBE = "unsubscribe", "Unsubscription"
        EVENT = "event", "Event"
        TEST = "test", "Test"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent"
        REJECTED = "rejected", "Refused by Klaviyo"

    account = models.ForeignKey(KlaviyoAccount, on_delete=models.CASCADE, related_name="sync_records")
    kind = models.CharField(max_length=11, choices=Kind.choices)
    metric = models.CharField(max_length=60, blank=True, help_text="The event's metric name.")
    reference = models.CharField(max_length=60, help_text="What was sent: customer:12, sale:5, refund:3.")
    unique_id = models.CharField(max_length=120)
    status = models.CharField(max_length=8, choices=Status.choices)
    detail = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True)
    source = models.CharField(max_length=8, default="live", help_text="live (the outbox), backfill or test.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "unique_id"], name="messaging_klaviyo_record_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "updated_at"], name="messaging_klaviyo_record_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.unique_id}: {self.status}"


class KlaviyoBackfill(models.Model):
    """Sending the history once: the customers' profiles (with their confirmed consent), then the sales as
    Placed Order and Ordered Product events, in batches. The cursors say where it stopped, so a run resumes
    there; the events' unique ids keep a batch sent twice from counting twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        DONE = "done", "Done"

    class Phase(models.TextChoices):
        PROFILES = "profiles", "Profiles"
        ORDERS = "orders", "Orders"
        DONE = "done", "Done"

    account = models.ForeignKey(KlaviyoAccount, on_delete=models.CASCADE, related_name="backfills")
    since = models.DateField(null=True, blank=True, help_text="Sales from this day on; empty: all.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.PROFILES)
    customer_cursor = models.BigIntegerField(default=0, help_text="The last customer id sent.")
    sale_cursor = models.BigIntegerField(default=0, help_text="The last sale id sent.")
    customers_total = models.PositiveIntegerField(default=0)
    customers_done = models.PositiveIntegerField(default=0)
    sales_total = models.PositiveIntegerField(default=0)
    sales_done = models.PositiveIntegerField(default=0)
    events_sent = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="The last batch a run finished.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Klaviyo backfill {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        total = self.customers_total + self.sales_total
        if not total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, int((self.customers_done + self.sales_done) * 100 / total))


# --- Alpine IQ and Springbig (issue 15): members, points balances and audiences kept in step -------------------


class LoyaltySyncSettings(models.Model):
    """One organization's link to Alpine IQ or Springbig: the key (never shown back in full), the vendor's
    account ids, and how the last sync went. `cursor` is where the periodic pull of members resumes."""

    class Vendor(models.TextChoices):
        ALPINE = "alpine", "Alpine IQ"
        SPRINGBIG = "springbig", "Springbig"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    enabled = models.BooleanField(default=False)
    api_key = models.CharField(max_length=200, blank=True)
    auth_token = models.CharField(
        max_length=200, blank=True, help_text="Springbig's AUTH-TOKEN (Alpine IQ needs none)."
    )
    account_id = models.CharField(
        max_length=60, blank=True, help_text="Alpine IQ: the user id (uid). Springbig: the pos_type we send."
    )
    location = models.CharField(
        max_length=100, blank=True, help_text="The store name sent with transactions."
    )
    base_url = models.URLField(blank=True, help_text="Empty: the vendor's production address.")
    cursor = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "vendor"]
        verbose_name_plural = "loyalty sync settings"
        constraints = [
            models.UniqueConstraint(fields=["organization", "vendor"], name="messaging_loyalty_sync_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} for {self.organization_id}"

    @property
    def api_key_hint(self) -> str:
        return f"…{self.api_key[-4:]}" if len(self.api_key) >= 8 else ("set" if self.api_key else "")


class LoyaltyMemberLink(models.Model):
    """A customer and their member at the vendor, with the balance both sides agreed on at the last sync: a
    side whose balance moved since then changed it."""

    settings = models.ForeignKey(LoyaltySyncSettings, on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    vendor_member_id = models.CharField(max_length=100)
    synced_balance = models.IntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["settings_id", "customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["settings", "customer"], name="messaging_loyalty_link_customer"),
            models.UniqueConstraint(
                fields=["settings", "vendor_member_id"], name="messaging_loyalty_link_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} = {self.vendor_member_id}"


class LoyaltyAudience(models.Model):
    """A vendor's audience (segment) kept as a saved Segment whose members are the vendor's list: its rule
    is "in this segment" (membership is SegmentMember, written only by the pull)."""

    settings = models.ForeignKey(LoyaltySyncSettings, on_delete=models.CASCADE, related_name="audiences")
    audience_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    segment = models.OneToOneField(Segment, on_delete=models.CASCADE, related_name="loyalty_audience")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["settings_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["settings", "audience_id"], name="messaging_loyalty_audience_once"
            )
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltySyncLog(models.Model):
    """What a sync did that staff may ask about: conflicts (the register's ledger won), members matched or
    created, errors."""

    class Kind(models.TextChoices):
        CONFLICT = "conflict", "Both sides changed: the register's balance kept"
        IMPORTED = "imported", "Balance taken from the vendor"
        PUSHED = "pushed", "Balance sent to the vendor"
        MATCHED = "matched", "Member matched to a customer"
        CREATED = "created", "Customer created from a member"
        ERROR = "error", "Error"

    settings = models.ForeignKey(LoyaltySyncSettings, on_delete=models.CASCADE, related_name="log")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["settings", "created_at"], name="messaging_loyalty_log_time")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail[:40]}"


class CustomerMetrics(models.Model):
    """What the platform knows about one customer, summed up for segments (messaging.segments) and kept current
    by messaging.segment_handlers as sales, refunds, points, tiers and engagement arrive; `metrics_rebuild`
    fills it from history. Lifetime value is completed sales minus their refunds (voids excluded); favourites
    are by spend; the habit is the most frequent of in store, pickup and delivery; RFM scores are quintiles of
    the organization's buyers (5 best), recomputed for everyone by a periodic job."""

    class Habit(models.TextChoices):
        IN_STORE = "in_store", "In store"
        PICKUP = "pickup", "Pickup"
        DELIVERY = "delivery", "Delivery"

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="metrics"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    orders_count = models.PositiveIntegerField(default=0)
    lifetime_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    average_order = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    favourite_category = models.CharField(max_length=20, blank=True)
    favourite_brand = models.CharField(max_length=120, blank=True)
    in_store_count = models.PositiveIntegerField(default=0)
    pickup_count = models.PositiveIntegerField(default=0)
    delivery_count = models.PositiveIntegerField(default=0)
    fulfilment_habit = models.CharField(max_length=8, choices=Habit.choices, blank=True)
    rfm_recency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_monetary = models.PositiveSmallIntegerField(null=True, blank=True)
    loyalty_tier_id = models.BigIntegerField(null=True, blank=True, help_text="pos.LoyaltyTier id, if any.")
    points_balance = models.IntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    message_purchases = models.PositiveIntegerField(default=0, help_text="Sales credited to messages.")
    last_message_purchase_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "customer metrics"
        indexes = [
            models.Index(fields=["organization", "last_purchase_at"], name="messaging_metrics_last"),
            models.Index(fields=["organization", "orders_count"], name="messaging_metrics_orders"),
            models.Index(fields=["organization", "lifetime_value"], name="messaging_metrics_value"),
            models.Index(fields=["organization", "rfm_recency"], name="messaging_metrics_recency"),
            models.Index(
                fields=["organization", "favourite_category", "rfm_recency"], name="messaging_metrics_fav_cat"
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of {self.customer_id}"
