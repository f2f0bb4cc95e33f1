"""The Alpine IQ / Springbig settings form: the key is typed, never shown back."""

from django import forms

from messaging.models import LoyaltySyncSettings


class LoyaltySyncForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Keep this vendor in step with the register")
    api_key = forms.CharField(
        required=False,
        max_length=200,
        label="API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the saved key.",
    )
    auth_token = forms.CharField(
        required=False,
        max_length=200,
        label="Auth token (Springbig)",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the saved token.",
    )
    account_id = forms.CharField(required=False, max_length=60, label="Account id")
    location = forms.CharField(required=False, max_length=100, label="Store name on transactions")
    base_url = forms.URLField(
        required=False, assume_scheme="https", label="API address", help_text="Empty: the vendor's own."
    )

    def __init__(self, *args, vendor: str, saved: LoyaltySyncSettings | None, **kwargs):
        super().__init__(*args, prefix=vendor, **kwargs)
        self.vendor = vendor
        self.saved = saved
        if vendor == LoyaltySyncSettings.Vendor.ALPINE:
            del self.fields["auth_token"]
            self.fields["account_id"].label = "User id (uid)"
        else:
            self.fields["account_id"].label = "POS type (the name Springbig knows the register by)"

    def clean(self):
        data = super().clean()
        has_key = bool(data.get("api_key")) or bool(self.saved and self.saved.api_key)
        if data.get("enabled") and not has_key:
            self.add_error("api_key", "Enter the API key before turning the sync on.")
        if data.get("enabled") and not data.get("account_id"):
            self.add_error("account_id", "Enter the account id before turning the sync on.")
        if self.vendor == LoyaltySyncSettings.Vendor.SPRINGBIG and data.get("enabled"):
            has_token = bool(data.get("auth_token")) or bool(self.saved and self.saved.auth_token)
            if not has_token:
                self.add_error("auth_token", "Enter the auth token before turning the sync on.")
        return data
