"""The ready-made flows an operator starts from: each a blueprint (data: trigger, goal, re-entry, steps as a tree)
that `flow_create_from_library` turns into a draft Flow with its FlowStep rows. The operator edits the words,
chooses the coupon's promotion where there is one, and switches the flow on (messaging.flows.flow_status_set).

A step is {"kind", "name", "config", "branch" (under a split), "children": [...]}; see messaging.flows for the
trigger, delay and variable formats."""

from django.db import transaction

from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from messaging.models import Flow, FlowStep


def _step(kind: str, name: str, config: dict | None = None, *, branch: str = "", children=()) -> dict:
    return {"kind": kind, "name": name, "config": config or {}, "branch": branch, "children": list(children)}


def _sms(name: str, body: str, *, branch: str = "", **more) -> dict:
    return _step("send_sms", name, {"body": body, **more}, branch=branch)


def _email(name: str, subject: str, body: str, *, branch: str = "", **more) -> dict:
    return _step("send_email", name, {"subject": subject, "body": body, **more}, branch=branch)


def _wait(name: str, *, branch: str = "", **config) -> dict:
    return _step("delay", name, config, branch=branch)


LIBRARY: dict[str, dict] = {
    "welcome": {
        "name": "Welcome series",
        "description": "Three messages over a week to a new customer: hello, what we are known for, a first offer.",
        "trigger": {"type": "event", "event": "customer.created"},
        "goal": "",
        "reentry": "never",
        "steps": [
            _wait("Give the counter's consent time to be confirmed", hours=1),
            _email(
                "Welcome email",
                "Welcome to {store_name}, {first_name}",
                "Hi {first_name}, thanks for joining {store_name}. You earn points on every visit. 21+ only.",
                topic="welcome",
            ),
            _wait("Two days later at 10:00", days=2, at="10:00"),
            _sms(
                "What we are known for",
                "{store_name}: hi {first_name}, our regulars love {recommendations}. See you soon!",
                topic="welcome",
            ),
            _wait("Five days later", days=5),
            _step("coupon", "A first-visit offer", {"promotion": None, "valid_days": 14}),
            _sms(
                "First offer",
                "{store_name}: {first_name}, here is a welcome gift: code {coupon_code} at the counter. 21+.",
                topic="welcome",
            ),
        ],
    },
    "post_purchase": {
        "name": "Post-purchase thank-you",
        "description": "The day after a purchase: thanks, and one question, how was your visit (1 to 5).",
        "trigger": {"type": "event", "event": "pos.sale_completed"},
        "goal": "",
        "reentry": "after_days",
        "reentry_days": 30,
        "steps": [
            _wait("The next day at 11:00", next_day_at="11:00"),
            _sms(
                "Thank you and one question",
                "{store_name}: thanks for your visit, {first_name}! How was it? Tap to rate 1-5: {rating_link}",
                topic="thank_you",
            ),
        ],
    },
    "winback": {
        "name": "Win-back",
        "description": (
            "No purchase for 30 days: what's new; day 37 a new offer to those who did not open; day 45 picks from "
            "their favourite categories and their points to those who opened but did not buy; day 60 a last "
            "try, then no more marketing until they buy again."
        ),
        "trigger": {"type": "inactivity", "days": 30},
        "goal": "purchase",
        "reentry": "after_days",
        "reentry_days": 90,
        "steps": [
            _email(
                "Day 30: what's new",
                "What's new at {store_name}",
                "Hi {first_name}, it has been a while. New this month at {store_name}: {recommendations}.",
                topic="winback",
            ),
            _wait("Until day 37", days=7),
            _step(
                "condition",
                "Opened the day-30 email?",
                {"test": "opened"},
                children=[
                    _step("coupon", "Day 37: an offer", {"promotion": None, "valid_days": 10}, branch="no"),
                    _email(
                        "Day 37: new subject, an offer",
                        "{first_name}, a gift is waiting at {store_name}",
                        "Come back this week and show code {coupon_code} at the counter. 21+ only.",
                        topic="winback_offer",
                        branch="no",
                    ),
                    _wait("Until day 45", days=8, branch="yes"),
                    _step(
                        "condition",
                        "Bought since?",
                        {"test": "purchased"},
                        branch="yes",
                        children=[
                            _email(
                                "Day 45: picks for you and your points",
                                "Picked for you, {first_name}",
                                "From your favourite categories: {recommendations}. You have {points_balance} "
                                "points waiting at {store_name}.",
                                topic="winback_picks",
                                branch="no",
                            ),
                        ],
                    ),
                ],
            ),
            _wait("Until day 60", days_after_entry=30, at="11:00"),
            _sms(
                "Day 60: a last try",
                "{store_name}: we miss you, {first_name}. Anything we can do better? Reply or visit us.",
                topic="winback_last",
            ),
            _wait("A week to answer", days=7),
            _step("exit", "No more marketing until they buy again", {"suppress_marketing": True}),
        ],
    },
    "birthday": {
        "name": "Birthday",
        "description": "On the customer's birthday (from the store's morning): a gift code.",
        "trigger": {"type": "date", "field": "birthday", "days_before": 0},
        "goal": "",
        "reentry": "always",
        "steps": [
            _step("coupon", "Birthday gift", {"promotion": None, "valid_days": 14}),
            _sms(
                "Happy birthday",
                "{store_name}: happy birthday, {first_name}! Your gift: code {coupon_code}, for 2 weeks. 21+.",
                topic="birthday",
            ),
        ],
    },
    "vip": {
        "name": "VIP welcome",
        "description": "On reaching a higher loyalty tier (or switch the trigger to a spend threshold).",
        "trigger": {"type": "event", "event": "pos.tier_changed", "tier": ""},
        "goal": "",
        "reentry": "always",
        "steps": [
            _step("points", "Bonus points", {"points": 100, "note": "VIP welcome bonus"}),
            _email(
                "Welcome to the club",
                "You made {tier}, {first_name}",
                "Thanks for being one of our best customers. We added 100 bonus points: {points_balance} now.",
                topic="vip",
            ),
            _step(
                "alert_staff", "Tell the manager", {"message": "{customer} reached a new tier: say hello."}
            ),
        ],
    },
    "abandoned_cart": {
        "name": "Abandoned cart",
        "description": "An online cart left for a while: a reminder an hour later, while it is still fresh.",
        "trigger": {"type": "event", "event": "pos.cart_abandoned"},
        "goal": "purchase",
        "reentry": "after_days",
        "reentry_days": 7,
        "steps": [
            _wait("One hour", hours=1),
            _sms(
                "Still thinking?",
                "{store_name}: {first_name}, your cart is saved. Order ahead and pick up today: {shop_link}",
                topic="cart",
            ),
        ],
    },
    "reorder": {
        "name": "Reorder reminder",
        "description": "When a customer's usual time between purchases of a category has passed since the last.",
        "trigger": {"type": "reorder", "min_purchases": 3},
        "goal": "purchase",
        "reentry": "always",
        "steps": [
            _sms(
                "Time to restock?",
                "{store_name}: {first_name}, running low on {category}? We have it in stock: {recommendations}",
                topic="reorder",
            ),
        ],
    },
    "medical_card": {
        "name": "Medical card expiring",
        "description": "30 days before a patient's card expires: a reminder to renew, then a second a week later.",
        "trigger": {"type": "date", "field": "medical_card_expires", "days_before": 30},
        "goal": "",
        "reentry": "always",
        "steps": [
            _email(
                "Renew your card",
                "Your medical card expires on {card_expires_on}",
                "Hi {first_name}, your medical card expires on {card_expires_on}. Renew it in time to keep "
                "your patient pricing and limits at {store_name}.",
                topic="medical_card",
            ),
            _wait("A week later", days=7),
            _sms(
                "Reminder",
                "{store_name}: {first_name}, your medical card expires on {card_expires_on}. Renew soon.",
                topic="medical_card",
            ),
        ],
    },
}


def _create_steps(flow: Flow, specs: list[dict], parent: FlowStep | None) -> int:
    count = 0
    for position, spec in enumerate(specs):
        step = FlowStep.objects.create(
            flow=flow,
            parent=parent,
            branch=spec["branch"],
            position=position,
            kind=spec["kind"],
            name=spec["name"][:120],
            config=dict(spec["config"]),
        )
        count += 1 + _create_steps(flow, spec["children"], step)
    return count


@transaction.atomic
def flow_create_from_library(*, organization, key: str, actor, name: str = "") -> Flow:
    """A draft flow from the ready-made `key` (welcome, post_purchase, winback, birthday, vip, abandoned_cart,
    reorder, medical_card), with its steps. Audit-recorded."""
    blueprint = LIBRARY.get(key)
    if blueprint is None:
        raise ValidationFailed(f'There is no ready-made flow "{key}".', details={"key": [key]})
    base = (name or blueprint["name"]).strip()[:110]
    taken = set(
        Flow.objects.filter(organization=organization, name__startswith=base).values_list("name", flat=True)
    )
    title, number = base, 2
    while title in taken:
        title, number = f"{base} ({number})", number + 1
    flow = Flow.objects.create(
        organization=organization,
        name=title,
        template=key,
        description=blueprint["description"][:300],
        status=Flow.Status.DRAFT,
        trigger=dict(blueprint["trigger"]),
        goal=blueprint["goal"],
        reentry=blueprint["reentry"],
        reentry_days=blueprint.get("reentry_days"),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    steps = _create_steps(flow, blueprint["steps"], None)
    audit_record(
        actor=actor,
        action="flow.created",
        instance=flow,
        after={"template": key, "steps": steps},
        organization=organization,
    )
    return flow
