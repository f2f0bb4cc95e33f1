"""What the customer is told when a delivery did not happen, in plain words (the tracking page and the
messages say the same)."""

RETURN_REASONS = {
    "refused": "the order was declined at the door",
    "no_id": "we could not check a valid ID at the door",
    "nobody_home": "nobody was home when the driver came",
    "under_age": "the ID at the door did not meet the age requirement",
    "cancelled": "the order was cancelled",
}


def return_reason_words(reason: str, reason_text: str = "") -> str:
    return RETURN_REASONS.get(reason) or (reason_text or "the delivery did not happen").lower()


def return_next_words(reason: str) -> str:
    """What happens next: the goods go back to available stock at the trip's end and the order is cancelled;
    delivery orders are paid at the door, so nothing was charged."""
    if reason in ("no_id", "under_age"):
        return (
            "The goods go back to the store and you were not charged. A valid ID is needed at every delivery."
        )
    if reason == "cancelled":
        return "The goods go back to the store and you were not charged."
    return "The goods go back to the store and you were not charged. You are welcome to order again."
