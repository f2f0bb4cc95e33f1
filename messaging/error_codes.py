"""What the providers' error codes mean, in plain words for the deliverability page and a message's timeline
(Twilio's numbers for texts; a few of our own for email, where providers report a bounce or complaint)."""

ERROR_CODES: dict[str, str] = {
    # Carrier and delivery errors (texts)
    "30001": "Too many messages were queued at the provider; the message waited too long and was dropped.",
    "30002": "The provider account was suspended.",
    "30003": "The phone is switched off or out of reach (unreachable handset).",
    "30004": "The recipient blocked messages from this number, or the carrier blocks it.",
    "30005": "The number does not exist or is no longer in service.",
    "30006": "A landline or a number that cannot receive texts.",
    "30007": "The carrier filtered the message as spam (carrier violation).",
    "30008": "Unknown error from the carrier.",
    "30010": "The message was billed above the price limit and not sent.",
    "30018": "The destination carrier refused the sender (not registered for this traffic).",
    "30032": "The toll-free number is not verified.",
    "30034": "The 10DLC number is not registered to an approved campaign.",
    "30410": "The carrier timed out.",
    # Refusals when sending (texts)
    "21211": "The phone number is not valid.",
    "21408": "Texts to this region are not enabled on the account.",
    "21610": "The recipient replied STOP to this number: the carrier will not deliver until they reply START.",
    "21612": "This number cannot send to that number (carrier route not available).",
    "21614": "The number is not a mobile number.",
    # Email
    "bounce": "The email bounced: the address does not exist or the mailbox refused it.",
    "soft_bounce": "The email bounced for now (mailbox full, server unavailable).",
    "complaint": "The recipient marked the email as spam.",
    "rejected": "The email provider refused to send the email.",
}

UNKNOWN = "An error the provider reported without an explanation we know."


def error_code_words(code: str) -> str:
    """Plain words for a provider's error code ("" for no code)."""
    if not code:
        return ""
    return ERROR_CODES.get(str(code).strip(), UNKNOWN)
