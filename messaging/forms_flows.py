"""The flow editor's forms: a flow's settings (name, trigger and its parameters, filters as condition rows,
goal, re-entry, stores) and one form per kind of step, each turning its fields into the step's `config` (the
formats are in FlowStep's docstring)."""

import datetime as dt
from decimal import Decimal

from django import forms

from dispensary.forms import ApplicationErrorForm, BaseForm
from messaging.models import Flow, FlowStep, Segment
from messaging.rendering import link_allowed, links_in
from messaging.segments import OPERATORS
from messaging.services_flow_editor import (
    CONDITION_FIELDS,
    CONDITION_TESTS,
    EVENT_TRIGGERS,
    OPERATOR_WORDS,
    WINNER_METRICS,
    trigger_words,
    webhook_url_problem,
)

SMS_MAX_CHARACTERS = 1000
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")

# --- Conditions (filters and property splits) -----------------------------------------------------------------


def _number(text: str):
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def condition_value_parse(field: str, op: str, raw: str):
    """The value of a condition typed as text: numbers for number fields, "yes"/"no" for true/false ones,
    "low, high" for between, a comma-separated list for "is one of". Raises ValueError with plain words."""
    kind = CONDITION_FIELDS[field][1]
    raw = (raw or "").strip()
    if kind == "bool":
        if op != "is":
            raise ValueError("Use “is” with yes or no for this field.")
        if raw.lower() not in ("yes", "no", "true", "false"):
            raise ValueError("Write yes or no.")
        return raw.lower() in ("yes", "true")
    if op == "is":
        raise ValueError("“is yes/no” only applies to the consent fields.")
    if not raw:
        raise ValueError("Write a value.")
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if op == "between" and len(parts) != 2:
        raise ValueError("Write two values separated by a comma, e.g. 30, 60.")
    if kind == "number" and not (field == "birthday_month" and raw == "current"):
        try:
            numbers = [_number(part) for part in parts]
        except ArithmeticError:
            raise ValueError("Write a number.") from None
        if op in ("in", "between"):
            return numbers
        if len(numbers) != 1:
            raise ValueError("Write one number.")
        return numbers[0]
    if field == "birthday_month" and raw != "current":
        try:
            months = [int(part) for part in parts]
        except ValueError:
            raise ValueError("Write a month number (1-12) or “current”.") from None
        if any(not 1 <= month <= 12 for month in months):
            raise ValueError("Write a month number (1-12) or “current”.")
        return months if op in ("in", "between") else months[0]
    return parts if op in ("in", "between") else raw


def condition_value_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


class ConditionForm(BaseForm):
    field = forms.ChoiceField(
        label="Field", required=False, choices=[("", "—")] + [(k, v[0]) for k, v in CONDITION_FIELDS.items()]
    )
    op = forms.ChoiceField(label="Is", required=False, choices=[(op, OPERATOR_WORDS[op]) for op in OPERATORS])
    value = forms.CharField(label="Value", required=False, max_length=200)

    def clean(self):
        data = super().clean()
        field, op, raw = data.get("field"), data.get("op"), data.get("value", "")
        if not field:
            if (raw or "").strip():
                self.add_error("field", "Choose a field for this value.")
            data["condition"] = None
            return data
        try:
            data["condition"] = {"field": field, "op": op, "value": condition_value_parse(field, op, raw)}
        except ValueError as error:
            self.add_error("value", str(error))
        return data


ConditionFormSet = forms.formset_factory(ConditionForm, extra=2, max_num=20, absolute_max=20)


def condition_initial(condition: dict) -> dict:
    return {
        "field": condition.get("field", ""),
        "op": condition.get("op", "eq"),
        "value": condition_value_text(condition.get("value")),
    }


# --- The flow's settings ---------------------------------------------------------------------------------------

TRIGGER_CHOICES = [(key, words) for key, (words, _trigger) in EVENT_TRIGGERS.items()] + [
    ("segment", "When a customer enters a segment"),
    ("birthday", "On their birthday"),
    ("medical_card", "Before their medical card expires"),
    ("inactivity", "Some days without a purchase"),
]


def trigger_key(trigger: dict) -> str:
    """The editor's choice for a stored trigger; "current" when the trigger is one the editor cannot rebuild
    (a ready-made flow's own), which then stays as it is."""
    trigger = trigger if isinstance(trigger, dict) else {}
    for key, (_words, stored) in EVENT_TRIGGERS.items():
        if trigger == stored:
            return key
    kind = trigger.get("type")
    if kind == "segment" and set(trigger) <= {"type", "segment"}:
        return "segment"
    if kind == "date" and trigger.get("field") == "birthday" and set(trigger) <= {"type", "field", "at"}:
        return "birthday"
    if (
        kind == "date"
        and trigger.get("field") == "medical_card_expires"
        and set(trigger)
        <= {
            "type",
            "field",
            "at",
            "days_before",
        }
    ):
        return "medical_card"
    if kind == "inactivity" and set(trigger) <= {"type", "days"}:
        return "inactivity"
    return "current"


class FlowSettingsForm(ApplicationErrorForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)
    trigger_kind = forms.ChoiceField(label="What starts the flow", choices=TRIGGER_CHOICES)
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(), required=False, help_text="For a segment."
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=730,
        required=False,
        help_text="Days without a purchase, or days before the medical card expires.",
    )
    at = forms.TimeField(
        required=False,
        label="At (store time)",
        widget=TIME_INPUT,
        help_text="For a birthday or a card expiring.",
    )
    filter_match = forms.ChoiceField(label="Filters must match", choices=Segment.Match.choices)
    goal = forms.ChoiceField(
        choices=Flow.Goal.choices, required=False, help_text="Reaching it ends the flow."
    )
    reentry = forms.ChoiceField(label="May a customer enter again?", choices=Flow.Reentry.choices)
    reentry_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, label="After how many days"
    )
    stores = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: every store."
    )

    def __init__(self, *args, flow: Flow, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.flow = flow
        self.store_rows = {store.pk: store for store in stores}
        self.fields["stores"].choices = [(store.pk, store.name) for store in stores]
        self.fields["segment"].queryset = Segment.objects.filter(
            organization_id=flow.organization_id, archived=False
        )
        if trigger_key(flow.trigger) == "current":
            self.fields["trigger_kind"].choices = [
                ("current", f"Keep: {trigger_words(flow.trigger)}"),
                *TRIGGER_CHOICES,
            ]

    @classmethod
    def initial_for(cls, flow: Flow) -> dict:
        trigger = flow.trigger if isinstance(flow.trigger, dict) else {}
        at = trigger.get("at")
        return {
            "name": flow.name,
            "description": flow.description,
            "trigger_kind": trigger_key(trigger),
            "segment": trigger.get("segment"),
            "days": trigger.get("days") or trigger.get("days_before"),
            "at": at or "10:00",
            "filter_match": flow.filter_match,
            "goal": flow.goal,
            "reentry": flow.reentry,
            "reentry_days": flow.reentry_days,
            "stores": list(flow.stores.values_list("pk", flat=True)),
        }

    def clean(self):
        data = super().clean()
        kind = data.get("trigger_kind")
        at = data.get("at")
        at_text = at.strftime("%H:%M") if isinstance(at, dt.time) else "10:00"
        if kind == "current":
            data["trigger"] = self.flow.trigger
        elif kind in EVENT_TRIGGERS:
            data["trigger"] = dict(EVENT_TRIGGERS[kind][1])
        elif kind == "segment":
            if data.get("segment") is None:
                self.add_error("segment", "Choose the segment whose new members enter the flow.")
            else:
                data["trigger"] = {"type": "segment", "segment": data["segment"].pk}
        elif kind == "birthday":
            data["trigger"] = {"type": "date", "field": "birthday", "at": at_text}
        elif kind == "medical_card":
            if not data.get("days"):
                self.add_error("days", "Say how many days before the card expires.")
            else:
                data["trigger"] = {
                    "type": "date",
                    "field": "medical_card_expires",
                    "days_before": data["days"],
                    "at": at_text,
                }
        elif kind == "inactivity":
            if not data.get("days"):
                self.add_error("days", "Say after how many days without a purchase.")
            else:
                data["trigger"] = {"type": "inactivity", "days": data["days"]}
        if data.get("reentry") == Flow.Reentry.AFTER_DAYS and not data.get("reentry_days"):
            self.add_error("reentry_days", "Say after how many days a customer may enter again.")
        data["store_rows"] = [self.store_rows[pk] for pk in data.get("stores") or [] if pk in self.store_rows]
        return data


class NewFlowForm(ApplicationErrorForm):
    name = forms.CharField(max_length=120)


# --- The steps -------------------------------------------------------------------------------------------------


class StepForm(ApplicationErrorForm):
    """A step's form: `managed` are the config keys it writes (the others a step carries are kept)."""

    managed: tuple[str, ...] = ()
    name = forms.CharField(
        max_length=120,
        required=False,
        label="Label (optional)",
        help_text="Shown in the flow instead of the kind.",
    )

    @classmethod
    def initial_for(cls, step: FlowStep) -> dict:
        return {"name": step.name, **cls.config_initial(step.config if isinstance(step.config, dict) else {})}

    @classmethod
    def config_initial(cls, config: dict) -> dict:
        return {}

    def config(self) -> dict:
        raise NotImplementedError

    def config_merged(self, old: dict | None) -> dict:
        kept = {key: value for key, value in (old or {}).items() if key not in self.managed}
        return {**kept, **self.config()}


class DelayForm(StepForm):
    managed = ("days", "hours", "next_day_at")
    wait = forms.ChoiceField(
        label="Wait",
        choices=[
            ("days", "Some days"),
            ("hours", "Some hours"),
            ("next_day_at", "Until the next day at a time"),
        ],
    )
    amount = forms.IntegerField(min_value=1, max_value=365, required=False, label="How many")
    at = forms.TimeField(required=False, label="At (store time)", widget=TIME_INPUT)

    @classmethod
    def config_initial(cls, config):
        if config.get("next_day_at"):
            return {"wait": "next_day_at", "at": config["next_day_at"]}
        if config.get("hours"):
            return {"wait": "hours", "amount": config["hours"]}
        return {"wait": "days", "amount": config.get("days", 1)}

    def clean(self):
        data = super().clean()
        wait = data.get("wait")
        if wait in ("days", "hours") and not data.get("amount"):
            self.add_error("amount", f"Say how many {wait}.")
        if wait == "hours" and (data.get("amount") or 0) > 23 * 7:
            self.add_error("amount", "Wait at most a week in hours; use days beyond that.")
        if wait == "next_day_at" and data.get("at") is None:
            self.add_error("at", "Say at what time.")
        return data

    def config(self):
        data = self.cleaned_data
        if data["wait"] == "next_day_at":
            return {"next_day_at": data["at"].strftime("%H:%M")}
        return {data["wait"]: data["amount"]}


class ConditionSplitForm(StepForm):
    managed = ("test", "condition")
    test = forms.ChoiceField(
        label="Split on",
        choices=[(key, words[0]) for key, words in CONDITION_TESTS.items()]
        + [("property", "If their profile matches a condition")],
    )
    field = ConditionForm.base_fields["field"]
    op = ConditionForm.base_fields["op"]
    value = ConditionForm.base_fields["value"]

    @classmethod
    def config_initial(cls, config):
        return {"test": config.get("test", "opened"), **condition_initial(config.get("condition") or {})}

    def clean(self):
        data = super().clean()
        if data.get("test") == "property":
            if not data.get("field"):
                self.add_error("field", "Choose the profile field to test.")
            else:
                try:
                    data["condition"] = {
                        "field": data["field"],
                        "op": data.get("op"),
                        "value": condition_value_parse(data["field"], data.get("op"), data.get("value", "")),
                    }
                except ValueError as error:
                    self.add_error("value", str(error))
        return data

    def config(self):
        data = self.cleaned_data
        if data["test"] == "property":
            return {"test": "property", "condition": data["condition"]}
        return {"test": data["test"]}


class AbSplitForm(StepForm):
    managed = ("share_a", "winner")
    share_a = forms.IntegerField(min_value=1, max_value=99, label="Share getting A (%)", initial=50)
    metric = forms.ChoiceField(
        label="The winner is the one with more",
        choices=[("", "No winner: keep splitting")] + list(WINNER_METRICS.items()),
        required=False,
    )
    after_days = forms.IntegerField(min_value=1, max_value=60, required=False, label="Decided after (days)")

    @classmethod
    def config_initial(cls, config):
        winner = config.get("winner") or {}
        return {
            "share_a": config.get("share_a", 50),
            "metric": winner.get("metric", ""),
            "after_days": winner.get("after_days", 3),
        }

    def clean(self):
        data = super().clean()
        if data.get("metric") and not data.get("after_days"):
            self.add_error("after_days", "Say after how many days the winner is chosen.")
        return data

    def config(self):
        data = self.cleaned_data
        config = {"share_a": data["share_a"]}
        if data.get("metric"):
            config["winner"] = {"metric": data["metric"], "after_days": data["after_days"]}
        return config


def _links_problem(text: str) -> str | None:
    for url in links_in(text or ""):
        if not link_allowed(url):
            return f"The link {url} does not lead to one of our sites, so it cannot be sent."
    return None


class SendSmsForm(StepForm):
    managed = ("body",)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=SMS_MAX_CHARACTERS,
        label="Text",
        help_text="You can use {first_name}, {store_name}, {store_phone}, {shop_link}. “Reply STOP to opt out.” is added.",
    )

    @classmethod
    def config_initial(cls, config):
        return {"body": config.get("body", "")}

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        problem = _links_problem(body)
        if problem:
            raise forms.ValidationError(problem)
        return body

    def config(self):
        return {"body": self.cleaned_data["body"]}


class SendEmailForm(StepForm):
    managed = ("subject", "body")
    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        help_text="You can use {first_name}, {store_name}, {store_phone}, {shop_link}.",
    )

    @classmethod
    def config_initial(cls, config):
        return {"subject": config.get("subject", ""), "body": config.get("body", "")}

    def clean(self):
        data = super().clean()
        for name in ("subject", "body"):
            problem = _links_problem(data.get(name, ""))
            if problem:
                self.add_error(name, problem)
        return data

    def config(self):
        return {"subject": self.cleaned_data["subject"].strip(), "body": self.cleaned_data["body"].strip()}


class CouponForm(StepForm):
    managed = ("promotion", "valid_days", "min_spend")
    promotion = forms.TypedChoiceField(coerce=int, label="Promotion the coupon gives")
    valid_days = forms.IntegerField(min_value=1, max_value=365, initial=14, label="Valid for (days)")
    min_spend = forms.DecimalField(
        min_value=0, max_digits=8, decimal_places=2, required=False, label="Minimum spend ($)"
    )

    def __init__(self, *args, promotions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["promotion"].choices = [(promotion.pk, promotion.name) for promotion in promotions]
        if not promotions:
            self.fields[
                "promotion"
            ].help_text = "Your organization has no active promotion yet: create one first."

    @classmethod
    def config_initial(cls, config):
        return {
            "promotion": config.get("promotion"),
            "valid_days": config.get("valid_days", 14),
            "min_spend": config.get("min_spend"),
        }

    def config(self):
        data = self.cleaned_data
        config = {"promotion": data["promotion"], "valid_days": data["valid_days"]}
        if data.get("min_spend") is not None:
            config["min_spend"] = f"{data['min_spend']:.2f}"
        return config


class PointsForm(StepForm):
    managed = ("points", "note")
    points = forms.IntegerField(min_value=1, max_value=100000)
    note = forms.CharField(max_length=200, required=False, help_text="Shown in their points history.")

    @classmethod
    def config_initial(cls, config):
        return {"points": config.get("points"), "note": config.get("note", "")}

    def config(self):
        config = {"points": self.cleaned_data["points"]}
        if self.cleaned_data.get("note"):
            config["note"] = self.cleaned_data["note"].strip()
        return config


class ProfileForm(StepForm):
    managed = ("field", "value")
    field = forms.CharField(max_length=60, label="Profile field", help_text="e.g. preferred_language")
    value = forms.CharField(max_length=200, required=False)

    @classmethod
    def config_initial(cls, config):
        return {"field": config.get("field", ""), "value": config.get("value", "")}

    def config(self):
        return {"field": self.cleaned_data["field"].strip(), "value": self.cleaned_data.get("value", "")}


class WebhookForm(StepForm):
    managed = ("url",)
    url = forms.CharField(max_length=500, label="Address (https)", help_text="Called with the customer's id.")

    @classmethod
    def config_initial(cls, config):
        return {"url": config.get("url", "")}

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def config(self):
        return {"url": self.cleaned_data["url"]}


class AlertStaffForm(StepForm):
    managed = ("message",)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=500)

    @classmethod
    def config_initial(cls, config):
        return {"message": config.get("message", "")}

    def config(self):
        return {"message": self.cleaned_data["message"].strip()}


class ExitForm(StepForm):
    managed = ("suppress_marketing",)
    suppress_marketing = forms.BooleanField(
        required=False,
        label="Also stop marketing messages to them",
        help_text="For a last try: they get no more marketing texts or emails until they opt in again.",
    )

    @classmethod
    def config_initial(cls, config):
        return {"suppress_marketing": bool(config.get("suppress_marketing"))}

    def config(self):
        return {"suppress_marketing": bool(self.cleaned_data.get("suppress_marketing"))}


STEP_FORMS: dict[str, type[StepForm]] = {
    FlowStep.Kind.DELAY: DelayForm,
    FlowStep.Kind.CONDITION: ConditionSplitForm,
    FlowStep.Kind.AB_SPLIT: AbSplitForm,
    FlowStep.Kind.SEND_SMS: SendSmsForm,
    FlowStep.Kind.SEND_EMAIL: SendEmailForm,
    FlowStep.Kind.COUPON: CouponForm,
    FlowStep.Kind.POINTS: PointsForm,
    FlowStep.Kind.PROFILE: ProfileForm,
    FlowStep.Kind.WEBHOOK: WebhookForm,
    FlowStep.Kind.ALERT_STAFF: AlertStaffForm,
    FlowStep.Kind.EXIT: ExitForm,
}
