"""Messages gated and queued per second: N messages queued (in transactions of BENCH_BATCH, as a campaign or a
flow queues them), then drained through the gate and the queue to the file backend (SMS) and the locmem mail
backend at no rate limit, so the figures are the queue's and the gate's own cost. Written under "messaging" in
bench-results.json: messages_enqueued_per_s, messages_gated_sent_per_s.

    BENCH_MESSAGES=2000 python -m tests.bench.run messaging
"""

import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from messaging import queue
from messaging.models import OutboundMessage
from tests.bench import results
from tests.factories import CustomerFactory, StoreFactory

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
BATCH = int(os.environ.get("BENCH_BATCH", "100"))


def bench_messaging(database_label: str) -> None:
    store = StoreFactory()
    customers = [CustomerFactory(organization=store.organization) for _ in range(50)]
    saved = (
        settings.SMS_BACKEND,
        settings.SMS_OUTBOX_FILE,
        settings.EMAIL_BACKEND,
        settings.SMS_DEFAULT_RATE_PER_SECOND,
        settings.EMAIL_DEFAULT_RATE_PER_SECOND,
    )
    kick = queue.queue_kick
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as folder:
        settings.SMS_BACKEND = "file"
        settings.SMS_OUTBOX_FILE = Path(folder) / "outbox.log"
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.SMS_DEFAULT_RATE_PER_SECOND = settings.EMAIL_DEFAULT_RATE_PER_SECOND = 0
        queue.queue_kick = lambda: None  # queued and drained apart, so that each is measured alone
        try:
            started = time.perf_counter()
            for first in range(0, MESSAGES, BATCH):
                with transaction.atomic():
                    for number in range(first, min(first + BATCH, MESSAGES)):
                        customer = customers[number % len(customers)]
                        email = number % 4 == 3
                        queue.message_enqueue(
                            organization_id=store.organization_id,
                            store_id=store.pk,
                            customer_id=customer.pk,
                            channel="email" if email else "sms",
                            to=f"c{number}@example.com" if email else customer.phone,
                            subject="Your order" if email else "",
                            body=f"{store.name}: your order {number} is ready for pickup.",
                            purpose="pickup",
                        )
            enqueue_seconds = time.perf_counter() - started
            started = time.perf_counter()
            while queue.queue_drain(limit=500):
                pass
            drain_seconds = time.perf_counter() - started
        finally:
            queue.queue_kick = kick
            (
                settings.SMS_BACKEND,
                settings.SMS_OUTBOX_FILE,
                settings.EMAIL_BACKEND,
                settings.SMS_DEFAULT_RATE_PER_SECOND,
                settings.EMAIL_DEFAULT_RATE_PER_SECOND,
            ) = saved
    # The figures count only if the work was done: every message sent once.
    sent = OutboundMessage.objects.filter(status=OutboundMessage.Status.SENT).count()
    assert sent == MESSAGES, sent
    enqueued_per_s = MESSAGES / enqueue_seconds
    sent_per_s = MESSAGES / drain_seconds
    print(
        f"messaging: queued {MESSAGES} messages in {enqueue_seconds:.2f} s = {enqueued_per_s:,.0f}/s "
        f"(transactions of {BATCH}); gated and sent {sent_per_s:,.0f}/s through the gate to the file and "
        f"locmem backends, no rate limit ({database_label}, one worker)"
    )
    results.record(
        "messaging",
        {
            "messages": MESSAGES,
            "messages_enqueued_per_s": round(enqueued_per_s, 1),
            "messages_gated_sent_per_s": round(sent_per_s, 1),
        },
    )
