"""Every periodic job of the platform, in one place (Celery beat in production; the in-process sweeper
thread of `runserver` in the embedded default)."""

from django.conf import settings

BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "dispensary.tasks.outbox_sweep_task",
        "schedule": settings.OUTBOX["SWEEP_INTERVAL_SECONDS"],
    },
    "state-sync-send-due": {
        "task": "compliance.reporting.tasks.sync_send_due_task",
        "schedule": settings.STATE_SYNC["SEND_INTERVAL_SECONDS"],
    },
    "state-sync-alerts": {
        "task": "compliance.reporting.tasks.sync_alert_overdue_task",
        "schedule": 60,
    },
    # Outbound webhooks whose retry time has come (dispensary/webhooks.py).
    "webhooks-send-due": {
        "task": "dispensary.tasks.webhook_deliveries_send_due_task",
        "schedule": settings.WEBHOOKS["SEND_INTERVAL_SECONDS"],
        "options": {"expires": 20},
    },
    "idempotency-key-purge": {
        "task": "dispensary.tasks.idempotency_key_purge_task",
        "schedule": 3600,
    },
    "pos-cart-abandoned": {
        "task": "pos.tasks.cart_abandoned_publish_task",
        "schedule": 60,
    },
    "loyalty-points-expire": {
        "task": "pos.tasks.loyalty_points_expire_task",
        "schedule": 3600,
    },
    # The send queue, paced per sender (messaging/queue.py): a drain each interval sends up to each sender's
    # rate x interval; a drain not started within a few seconds is dropped (the next one does its work).
    "messaging-queue-drain": {
        "task": "messaging.tasks.queue_drain_task",
        "schedule": settings.MESSAGING_QUEUE["DRAIN_INTERVAL_SECONDS"],
        "options": {"expires": 5},
    },
    "pickup-orders-expire": {
        "task": "pos.tasks.pickup_orders_expire_task",
        "schedule": 300,
    },
    # Patients whose medical card expires in 30 days: hourly, so each store's local morning is caught; each
    # registration is told once (messaging.transactional_handlers.medical_card_notices_queue).
    "messaging-medical-card-notices": {
        "task": "messaging.tasks.medical_card_notices_task",
        "schedule": 3600,
    },
    "messaging-deliverability-alerts": {
        "task": "messaging.tasks.deliverability_alerts_raise_task",
        "schedule": 600,
    },
    # Flows (messaging.flows): the runner walks the due enrollments each minute (claimed with a lease, so two
    # workers never run the same one); the date triggers (birthdays, medical cards, inactivity, reorders) are
    # looked at hourly, each store from its local morning, each enrolling once.
    "messaging-flows-run-due": {
        "task": "messaging.tasks.flows_run_due_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    "messaging-flows-dates": {
        "task": "messaging.tasks.flows_dates_enrol_task",
        "schedule": 3600,
    },
    # Alpine IQ and Springbig: a page of members (balances) and the audiences per enabled vendor, every 10 minutes
    # (messaging.loyalty_sync.sync.loyalty_pull_all; the cursor is kept between runs).
    "messaging-loyalty-pull": {
        "task": "messaging.tasks.loyalty_pull_task",
        "schedule": 600,
    },
    # Customer metrics (RFM quintiles) and every saved segment judged again: events keep members current as
    # they arrive; this catches what time alone changes ("no purchase for 30 days") and the consent ledger.
    "messaging-segments-refresh": {
        "task": "messaging.tasks.segments_refresh_task",
        "schedule": 900,
    },
    # Campaigns (messaging/campaigns.py): the recipients whose local send time has come are queued.
    "messaging-campaigns-send-due": {
        "task": "messaging.tasks.campaigns_send_due_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
}
