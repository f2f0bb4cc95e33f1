"""Messages sent, for support: read-only, as they are facts of the past; the quiet hours and frequency caps
that counsel edits."""

from django import forms
from django.contrib import admin

from dispensary.admin import ReadOnlyAdmin
from messaging.gate_places import state_normalise
from messaging.models import (
    FrequencyCapRule,
    LoyaltyPageLink,
    OutboundMessage,
    PromotionRule,
    QuietHoursRule,
)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "purpose", "to", "status", "provider", "store", "organization"]
    list_filter = ["channel", "purpose", "status", "organization"]
    search_fields = ["to", "reference", "provider_message_id", "source_event"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "store"]
    raw_id_fields = ["customer"]


def jurisdiction_clean(value: str) -> str:
    """ "US" for the federal rule, "US-FL" for a state given as "FL", "Florida" or "US-FL" (the gate's keys)."""
    if value.strip().upper() == "US":
        return "US"
    state = state_normalise(value)
    if not state:
        raise forms.ValidationError('Give "US" for the federal rule or a US state such as "US-FL".')
    return f"US-{state}"


class QuietHoursRuleForm(forms.ModelForm):
    class Meta:
        model = QuietHoursRule
        fields = [
            "jurisdiction",
            "weekday",
            "start",
            "end",
            "applies_to",
            "effective_from",
            "effective_to",
            "source",
        ]

    def clean_jurisdiction(self):
        return jurisdiction_clean(self.cleaned_data["jurisdiction"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and start >= end:
            raise forms.ValidationError("The window must start before it ends, on the same day.")
        first, last = cleaned.get("effective_from"), cleaned.get("effective_to")
        if first and last and last < first:
            raise forms.ValidationError("The rule cannot end before it starts.")
        return cleaned


class FrequencyCapRuleForm(forms.ModelForm):
    class Meta:
        model = FrequencyCapRule
        fields = [
            "jurisdiction",
            "max_messages",
            "period_hours",
            "same_subject",
            "applies_to",
            "effective_from",
            "effective_to",
            "source",
        ]

    def clean_jurisdiction(self):
        return jurisdiction_clean(self.cleaned_data["jurisdiction"])

    def clean_period_hours(self):
        hours = self.cleaned_data["period_hours"]
        if hours != 24:
            # The gate counts the marketing messages of the last 24 hours (messaging/gate.py).
            raise forms.ValidationError(
                "The gate counts messages over 24 hours; other periods are not supported."
            )
        return hours

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("effective_from"), cleaned.get("effective_to")
        if first and last and last < first:
            raise forms.ValidationError("The rule cannot end before it starts.")
        return cleaned


@admin.register(QuietHoursRule)
class QuietHoursRuleAdmin(admin.ModelAdmin):
    """Counsel's table of quiet hours: a change of the law is a new dated row (end the old one)."""

    form = QuietHoursRuleForm
    list_display = ["jurisdiction", "weekday", "start", "end", "applies_to", "effective_from", "effective_to"]
    list_filter = ["jurisdiction", "applies_to", "weekday", "effective_to"]
    search_fields = ["jurisdiction", "source"]


@admin.register(FrequencyCapRule)
class FrequencyCapRuleAdmin(admin.ModelAdmin):
    form = FrequencyCapRuleForm
    list_display = [
        "jurisdiction",
        "max_messages",
        "period_hours",
        "same_subject",
        "applies_to",
        "effective_from",
        "effective_to",
    ]
    list_filter = ["jurisdiction", "applies_to", "same_subject", "effective_to"]
    search_fields = ["jurisdiction", "source"]


class PromotionRuleForm(forms.ModelForm):
    class Meta:
        model = PromotionRule
        fields = [
            "jurisdiction",
            "category",
            "allowed",
            "effective_from",
            "effective_to",
            "source",
            "confirmed",
        ]

    def clean_jurisdiction(self) -> str:
        return jurisdiction_clean(self.cleaned_data["jurisdiction"])

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("effective_from"), cleaned.get("effective_to")
        if first and last and last < first:
            raise forms.ValidationError("The rule cannot end before it starts.")
        return cleaned


@admin.register(PromotionRule)
class PromotionRuleAdmin(admin.ModelAdmin):
    """Counsel's table of where messages may name products (messaging.recommendations reads it)."""

    form = PromotionRuleForm
    list_display = ["jurisdiction", "category", "allowed", "effective_from", "effective_to", "confirmed"]
    list_filter = ["jurisdiction", "allowed", "confirmed"]
    search_fields = ["jurisdiction", "source"]


@admin.action(description="Revoke: the link opens no more")
def loyalty_links_revoke(modeladmin, request, queryset):
    from messaging.loyalty_page import loyalty_link_revoke

    for link in queryset:
        loyalty_link_revoke(link=link, reason=f"revoked by {request.user.get_username()}")


@admin.register(LoyaltyPageLink)
class LoyaltyPageLinkAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "via", "expires_at", "revoked_at", "organization"]
    list_filter = ["via", "organization"]
    raw_id_fields = ["customer"]
    exclude = ["nonce"]
    actions = [loyalty_links_revoke]
