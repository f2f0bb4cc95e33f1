"""The marketing-consent disclosures customers are shown, by channel and version. A recorded consent keeps the
version and the exact text, so a change of wording is a new version and never rewrites what was agreed to."""

from dataclasses import dataclass

SMS = "sms"
EMAIL = "email"
CHANNELS = (SMS, EMAIL)


@dataclass(frozen=True)
class Disclosure:
    channel: str
    version: str
    title: str
    text: str


DISCLOSURES: dict[str, dict[str, Disclosure]] = {
    SMS: {
        "sms-2025-01": Disclosure(
            channel=SMS,
            version="sms-2025-01",
            title="Text messages",
            text=(
                "By checking this box, I agree to receive recurring automated marketing text messages "
                "(offers, new products and loyalty updates) from {business} at the mobile number on my account. "
                "Consent is not a condition of any purchase. Message frequency varies (up to 6 messages a "
                "month). Message and data rates may apply. Reply STOP to cancel at any time or HELP for help. "
                "I confirm I am 21 or older."
            ),
        ),
    },
    EMAIL: {
        "email-2025-01": Disclosure(
            channel=EMAIL,
            version="email-2025-01",
            title="Email",
            text=(
                "By checking this box, I agree to receive marketing emails (offers, new products and loyalty "
                "updates) from {business} at the email address on my account. Consent is not a condition of any "
                "purchase. I can unsubscribe at any time with the link in every email. I confirm I am 21 "
                "or older."
            ),
        ),
    },
}
CURRENT_VERSIONS = {SMS: "sms-2025-01", EMAIL: "email-2025-01"}


def disclosure_get(channel: str, version: str | None = None) -> Disclosure | None:
    """The disclosure of `channel` at `version` (the current one when not given); None if there is none."""
    return DISCLOSURES.get(channel, {}).get(version or CURRENT_VERSIONS.get(channel, ""))


def disclosure_text(disclosure: Disclosure, *, business: str) -> str:
    """The words the customer reads, with the business's name in them (TCPA: who is sending)."""
    return disclosure.text.format(business=business)
