"""The campaign forms: they shape input for messaging.campaigns, whose rules decide."""

from django import forms

from dispensary.forms import ApplicationErrorForm
from messaging.campaigns import METRIC_WORDS
from messaging.models import Channel, Segment


class CampaignForm(ApplicationErrorForm):
    name = forms.CharField(max_length=120, required=False)
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), empty_label="Choose a segment")
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.SMS)
    topic = forms.CharField(
        max_length=80,
        required=False,
        help_text="What it is about (“weekend sale”): the states' caps count messages by subject.",
    )
    subject = forms.CharField(max_length=200, required=False, help_text="Emails only.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        required=False,
        label="Words",
        help_text="You can use {first_name} {store_name} {shop_link} {coupon_code}.",
    )
    variant_b_subject = forms.CharField(max_length=200, required=False, label="Variant B subject")
    variant_b_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        label="Variant B words",
        help_text="Empty: no A/B test, everyone gets the words above.",
    )
    test_share = forms.IntegerField(
        min_value=0, max_value=100, required=False, initial=20, label="Test on (% of recipients)"
    )
    winner_metric = forms.ChoiceField(
        choices=[("", "—"), *METRIC_WORDS.items()], required=False, label="The winner is the one most"
    )
    winner_after_hours = forms.IntegerField(
        min_value=1, max_value=168, initial=4, required=False, label="Pick the winner after (hours)"
    )
    coupon_promotion = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="No coupon", label="A personal coupon of"
    )
    coupon_valid_days = forms.IntegerField(
        min_value=1, max_value=365, initial=14, label="Codes valid for (days)"
    )
    send_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Send on (each store's day)"
    )
    send_at = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        label="At (each store's local time)",
        help_text="Leave the day and time empty to send as soon as it is scheduled.",
    )

    def __init__(self, *args, organization, **kwargs):
        from pos.models import Promotion

        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(organization=organization, archived=False)
        self.fields["coupon_promotion"].queryset = Promotion.objects.filter(
            organization=organization, active=True
        )


class StaffTestForm(ApplicationErrorForm):
    to = forms.CharField(max_length=254, label="Staff phone or email")
    variant = forms.ChoiceField(choices=[("a", "Variant A"), ("b", "Variant B")], initial="a", required=False)
