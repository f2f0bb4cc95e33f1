"""Plain words for the codes the platform stores and people would otherwise read: audit actions, the kinds of
reports to the state, events, purchase-limit windows and buckets. One mapping for every screen and export, so
no page shows `queue.checked_in` or `(local_day)`. A code missing here still reads as words (its parts
spelled out), and a test lists every audit action of the code base so new ones get their words."""

WORDS: dict[str, str] = {
    # --- Audit actions -----------------------------------------------------------------------------------
    "api_client.created": "API client created",
    "api_client.revoked": "API client revoked",
    "cart.cancelled": "Cart cancelled",
    "cart.caregiver_set": "Caregiver buying for their patient",
    "cart.customer_set": "Customer set on a cart",
    "cart.employee_set": "Staff purchase: colleague named",
    "cart.veteran_checked": "Veteran status checked at the counter",
    "cart.opened": "Sale started at the register",
    "cart_line.price_overridden": "Price overridden (manager approved)",
    "compliance.rule_added": "State rule added",
    "compliance.rule_changed": "State rule changed",
    "compliance.rule_deleted": "State rule deleted",
    "compliance.rule_terms_changed": "State rule terms changed",
    "count.approved": "Inventory count approved",
    "count.opened": "Inventory count started",
    "count.state_quantities_filled": "State quantities filled in a count",
    "coupon.created": "Coupon created",
    "coupon.deactivated": "Coupon deactivated",
    "coupon.generated": "Coupon codes generated",
    "customer.created": "Customer added",
    "customer.marketing_consent_recorded": "Marketing consent recorded",
    "customer.updated": "Customer record changed",
    "customer.viewed": "Customer record opened",
    "customer.sms_consent_confirmation_requested": "Texts: the customer asked to confirm by replying YES",
    "messaging.alert_acknowledged": "Messaging alert acknowledged",
    "messaging.message_viewed": "Message opened",
    "delivery_address.created": "Delivery address added",
    "delivery_exclusion.created": "Excluded delivery place added",
    "delivery_exclusion.removed": "Excluded delivery place removed",
    "delivery_order.placed": "Delivery order placed",
    "delivery_proof.recorded": "Proof of delivery recorded (signature, photo, position)",
    "delivery_stop.handover_refused": "Hand-over at the door refused by the store's rules",
    "delivery_stop.returned": "Delivery stop not delivered",
    "delivery_zone.created": "Delivery zone added",
    "delivery_zone.updated": "Delivery zone changed",
    "drawer.closed": "Drawer closed",
    "driver.created": "Driver profile added",
    "driver.licence_viewed": "Driver's licence number viewed",
    "driver.updated": "Driver profile changed",
    "drawer.drop": "Cash drop to the safe",
    "drawer.opened": "Drawer opened",
    "drawer.paid_in": "Cash paid into a drawer",
    "drawer.paid_out": "Cash paid out of a drawer",
    "event_delivery.retried": "Failed event sent again",
    "id.refused": "ID refused",
    "id.verified": "ID checked",
    "looping_alert.acknowledged": "Looping alert acknowledged",
    "loyalty_program.saved": "Loyalty program changed",
    "manager_pin.set": "Manager PIN set",
    "package.adjusted": "Package quantity adjusted",
    "package.wasted": "Package wasted",
    "patient.card_set": "Medical card recorded",
    "patient.caregiver_linked": "Caregiver linked to a patient",
    "patient.recommendation_added": "Medical recommendation recorded",
    "pickup_order.cancelled": "Pickup order cancelled",
    "pickup_order.ready": "Pickup order ready (customer told)",
    "pickup_order.completed": "Pickup order picked up",
    "pickup_order.expired": "Pickup order expired",
    "pickup_order.placed": "Pickup order placed",
    "promotion.created": "Promotion created",
    "promotion.updated": "Promotion changed",
    "queue.called": "Called from the queue",
    "queue.checked_in": "Checked in at the door",
    "queue.finished": "Served",
    "queue.left": "Left the queue",
    "recall.held": "Recalled stock put on hold",
    "recall.opened": "Recall opened",
    "sale.completed": "Sale completed",
    "sale.receipt_requested": "Receipt sent",
    "sale.refunded": "Sale refunded",
    "sale.voided": "Sale voided",
    "shift.cancelled": "Driver shift cancelled",
    "shift.clocked_in": "Driver clocked in",
    "shift.clocked_out": "Driver clocked out",
    "shift.created": "Driver shift planned",
    "shift.updated": "Driver shift changed",
    "staff.created": "Staff member added",
    "staff.store_granted": "Staff member given a store",
    "staff.store_revoked": "Staff member's store taken away",
    "staff_token.created": "Staff API token created",
    "staff_token.revoked": "Staff API token revoked",
    "staff_token.rotated": "Staff API token rotated",
    "state_report.edited_and_resent": "State report corrected and sent again",
    "state_report.entered_manually": "State report entered by hand in Metrc",
    "state_report.retried": "State report sent again",
    "transfer.completed": "Transfer received",
    "transfer.imported": "Manifest imported",
    "vehicle.created": "Delivery vehicle added",
    "vehicle.updated": "Delivery vehicle changed",
    "transfer.checked_against_state": "Manifest checked against the state's transfer",
    "tracking_alert.acknowledged": "Live tracking alert acknowledged by a manager",
    "trip.sent": "Delivery trip sent to the driver",
    "trip.state_refiled": "Delivery trip's state records filed again",
    "trip.state_accepted": "State accepted a delivery trip's records",
    "trip.state_refused": "State refused a delivery trip's records",
    "trip.departed": "Delivery trip left the store",
    "trip.cancelled": "Delivery trip cancelled before it left",
    "loyalty.points_added": "Loyalty points added by hand or an integration",
    "webhook.ended": "Event subscription ended by its receiver",
    "webhook.paused": "Event subscription paused after failures",
    "webhook.subscribed": "Event subscription added (API)",
    "webhook.unsubscribed": "Event subscription removed (API)",
    # --- Reports to the state (sync records' kinds) --------------------------------------------------------
    "sales_receipt.create": "Sale reported",
    "sales_receipt.update": "Sale corrected (refund)",
    "sales_receipt.void": "Sale voided at the state",
    "package.adjust": "Package adjustment reported",
    "package.finish": "Package finished",
    "package.unfinish": "Package reopened",
    "sales_delivery.create": "Delivery reported",
    "sales_delivery.complete": "Delivery completed",
    "retailer_delivery.create": "Delivery trip reported",
    "retailer_delivery.depart": "Delivery departure reported",
    "retailer_delivery.sale": "Delivery sale reported",
    "retailer_delivery.restock": "Delivery restock reported",
    "retailer_delivery.end": "Delivery trip ended",
    "sales_delivery.void": "Delivery voided at the state",
    "retailer_delivery.void": "Delivery trip voided at the state",
    # --- Events (the outbox) -------------------------------------------------------------------------------
    "compliance.state_report_failed": "A report to the state failed",
    "compliance.state_report_overdue": "A report to the state is overdue",
    "delivery.trip_sent": "Delivery trip sent",
    "delivery.trip_state_refiled": "Delivery trip's state records filed again",
    "delivery.trip_cancelled": "Delivery trip cancelled",
    "delivery.trip_departed": "Delivery trip left the store",
    "delivery.trip_returned": "Delivery trip back at the store",
    "delivery.stop_approaching": "Driver nearly at a delivery",
    "delivery.stop_delayed": "Delivery running late",
    "delivery.order_delivered": "Delivery handed over",
    "delivery.order_returned": "Delivery brought back",
    "messaging.customer_message_requested": "Text or email to a customer",
    "messaging.customer_entered_segment": "Customer entered a saved segment",
    "messaging.message_engaged": "Customer opened a message or clicked its link",
    "messaging.flow_webhook_requested": "A flow called a webhook",
    "inventory.package_adjusted": "Package adjusted",
    "inventory.package_moved": "Package moved",
    "inventory.package_received": "Package received",
    "inventory.package_wasted": "Package wasted",
    "inventory.recall_opened": "Recall opened",
    "inventory.stock_low": "Stock running low",
    "pos.cart_abandoned": "Cart abandoned",
    "pos.order_cancelled": "Order cancelled",
    "pos.order_confirmed": "Order confirmed",
    "pos.order_ready": "Pickup order ready",
    "pos.order_placed": "Order placed",
    "pos.pickup_order_closed": "Pickup order closed",
    "pos.pickup_order_placed": "Pickup order placed",
    "pos.points_earned": "Loyalty points earned",
    "pos.receipt_requested": "Receipt requested",
    "pos.reward_redeemed": "Loyalty reward redeemed",
    "pos.sale_completed": "Sale completed",
    "pos.sale_refunded": "Sale refunded",
    "pos.sale_voided": "Sale voided",
    "pos.tier_changed": "Loyalty tier changed",
    # --- Purchase-limit buckets ------------------------------------------------------------------------------
    "flower_g": "Flower (g)",
    "concentrate_g": "Concentrate (g)",
    "infused_thc_mg": "THC in infused products (mg)",
    "infused_weight_g": "Infused products (g)",
    "immature_plants": "Immature plants",
    "seeds": "Seeds",
}

# Purchase-limit windows, as the limit meter says them ("Flower (today)").
LIMIT_WINDOWS = {
    "transaction": "this sale",
    "local_day": "today",
    "rolling_days": "last {days} days",
}


def words_add(words: dict[str, str]) -> None:
    """Words an app already keeps beside its codes (a list of choices), added from its AppConfig.ready()."""
    for code, text in words.items():
        WORDS.setdefault(code, text)


def plain_words(code) -> str:
    """The words for `code`; a code without an entry spelled out (`stock.count_closed` -> "Stock count
    closed")."""
    if code is None:
        return ""
    code = str(code)
    words = WORDS.get(code)
    if words is not None:
        return words
    spelled = " ".join(code.replace(".", " ").replace("_", " ").split())
    return spelled[:1].upper() + spelled[1:]


def limit_window_words(window: str, days: int | None = None) -> str:
    """The window of a purchase limit: "today", "this sale", "last 30 days"."""
    text = LIMIT_WINDOWS.get(window)
    if text is None:
        return plain_words(window).lower()
    if "{days}" in text and not days:
        return "over several days"
    return text.format(days=days)
