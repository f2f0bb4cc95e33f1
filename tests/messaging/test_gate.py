"""The gate's verdict from a message's facts and the seeded rules: quiet hours in every zone the recipient may be in
(the strictest of the number's area code, the address and the store), on the 2026 daylight-saving days; state
caps; smart sending; transactional messages and the STOP confirmation. All times here are fixed instants: no test
depends on today's date."""

import datetime as dt
import zoneinfo

import pytest

from dispensary.models import MarketingConsent
from messaging.admin import FrequencyCapRuleForm, QuietHoursRuleForm
from messaging.gate import (
    FrequencyCap,
    GateRules,
    QuietWindow,
    SendFacts,
    _closed_at,
    gate_rules,
    judge,
    message_facts,
    message_verdict,
    recipient_place,
)
from messaging.gate_places import CENTRAL, EASTERN, MOUNTAIN, PACIFIC, phone_place, state_normalise
from messaging.gate_rules_seed import FREQUENCY_CAPS, QUIET_HOURS
from messaging.models import OutboundMessage, QuietHoursRule, Suppression
from messaging.queue import message_send
from tests.factories import CustomerFactory

UTC = dt.UTC
SEED = GateRules(
    quiet_hours=tuple(QuietWindow(applies_to="marketing", effective_to=None, **row) for row in QUIET_HOURS),
    caps=tuple(FrequencyCap(applies_to="marketing", effective_to=None, **row) for row in FREQUENCY_CAPS),
)

PANHANDLE = "+18505550123"  # Florida 850: Eastern (Tallahassee) and Central (Pensacola)
MIAMI = "+13055550123"
DALLAS = "+12145550123"
HARTFORD = "+12035550123"
SAN_FRANCISCO = "+14155550123"
OKLAHOMA_CITY = "+14055550123"
BALTIMORE = "+14105550123"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def facts(**changes) -> SendFacts:
    values = {
        "channel": "sms",
        "purpose": "marketing",
        "at": utc("2026-03-09T18:00:00Z"),  # Monday 14:00 in New York, 11:00 in San Francisco
        "phone": SAN_FRANCISCO,
        "consent": True,
    }
    values.update(changes)
    return SendFacts(**values)


def verdict(rules=SEED, **changes):
    return judge(facts(**changes), rules)


# --- Where the recipient may be ------------------------------------------------------------------------------


def test_the_panhandle_area_code_is_florida_in_two_zones():
    assert phone_place(PANHANDLE) == ("FL", (EASTERN, CENTRAL))
    assert phone_place(MIAMI) == ("FL", (EASTERN,))
    assert phone_place(DALLAS) == ("TX", (CENTRAL,))
    assert phone_place(SAN_FRANCISCO) == ("CA", (PACIFIC,))
    assert phone_place("not a number") == ("", ())


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("FL", "FL"),
        ("fl", "FL"),
        ("Florida", "FL"),
        (" new  york ", "NY"),
        ("US-FL", "FL"),
        ("", ""),
        ("CA-ON", ""),
    ],
)
def test_states_are_normalised(value, state):
    assert state_normalise(value) == state


def test_an_unknown_state_is_none():
    assert state_normalise("Atlantis") is None
    assert state_normalise("US-ZZ") is None


def test_every_jurisdiction_and_zone_that_may_apply_is_taken():
    place = recipient_place(facts(phone=PANHANDLE, address_state="Texas", store_jurisdiction="US-CA"))

    assert place.jurisdictions == ("US", "US-FL", "US-TX", "US-CA")
    assert place.zones == (EASTERN, CENTRAL, MOUNTAIN)


def test_without_a_number_or_address_the_store_says_where():
    assert recipient_place(facts(channel="email", phone="", store_time_zone="America/Denver")).zones == (
        MOUNTAIN,
    )
    assert recipient_place(facts(channel="email", phone="", store_jurisdiction="US-FL")).zones == (
        EASTERN,
        CENTRAL,
    )
    assert recipient_place(facts(channel="email", phone="")).zones == (EASTERN, CENTRAL, MOUNTAIN, PACIFIC)


# --- Quiet hours ---------------------------------------------------------------------------------------------


def test_the_issue_example_is_held_until_eight_in_pensacola_on_the_day_clocks_go_forward():
    # 01:30 UTC on Sunday 8 March 2026: 20:30 EST in Tallahassee (past Florida's 20:00), 19:30 CST in Pensacola.
    # Clocks go forward at 02:00 that night: 08:00 EDT is 12:00 UTC, 08:00 CDT is 13:00 UTC.
    result = verdict(
        phone=PANHANDLE,
        address_state="FL",
        store_jurisdiction="US-CA",
        at=utc("2026-03-08T01:30:00Z"),
        marketing_sent_last_24h_same_subject=2,
    )

    assert result.allowed is False
    assert result.held is True
    assert result.send_after == utc("2026-03-08T13:00:00Z")
    assert result.reasons == (
        "quiet_hours: 20:30 on Saturday in America/New_York is outside 08:00-20:00 (US-FL); "
        "it may go from 2026-03-08T13:00:00Z.",
    )


def test_a_panhandle_number_waits_for_central_time_where_miami_does_not():
    at = utc("2026-03-08T12:30:00Z")  # 08:30 EDT, 07:30 CDT

    assert verdict(phone=MIAMI, at=at).allowed is True
    held = verdict(phone=PANHANDLE, at=at)
    assert held.send_after == utc("2026-03-08T13:00:00Z")
    assert held.codes == ("quiet_hours",)


def test_a_florida_evening_ends_at_eight_in_tallahassee():
    # Monday 9 March, 00:30 UTC: 20:30 EDT in Tallahassee, 19:30 CDT in Pensacola.
    held = verdict(phone=PANHANDLE, at=utc("2026-03-09T00:30:00Z"))

    assert held.send_after == utc("2026-03-09T13:00:00Z")
    assert verdict(phone=PANHANDLE, at=utc("2026-03-08T23:59:00Z")).allowed is True  # 19:59 EDT


def test_on_the_day_clocks_go_back_the_panhandle_waits_for_eight_central_standard_time():
    # 1 November 2026, 05:00 UTC: 01:00 EDT, 00:00 CDT; clocks go back at 02:00. 08:00 CST is 14:00 UTC.
    held = verdict(phone=PANHANDLE, at=utc("2026-11-01T05:00:00Z"))

    assert held.send_after == utc("2026-11-01T14:00:00Z")
    assert verdict(phone=MIAMI, at=utc("2026-11-01T05:00:00Z")).send_after == utc("2026-11-01T13:00:00Z")


def test_texas_waits_until_noon_on_sunday():
    # Sunday 8 March 2026 (clocks forward): 11:00 CDT in Dallas.
    held = verdict(phone=DALLAS, at=utc("2026-03-08T16:00:00Z"))

    assert held.send_after == utc("2026-03-08T17:00:00Z")
    assert held.reasons[0].startswith(
        "quiet_hours: 11:00 on Sunday in America/Chicago is outside 12:00-21:00 (US-TX)"
    )
    # An address in Texas may also be in El Paso (Mountain time): noon MDT is 18:00 UTC.
    assert verdict(phone=DALLAS, address_state="TX", at=utc("2026-03-08T16:00:00Z")).send_after == utc(
        "2026-03-08T18:00:00Z"
    )


def test_texas_sunday_on_the_day_clocks_go_back():
    # Sunday 1 November 2026: 10:00 CST in Dallas; noon CST is 18:00 UTC.
    assert verdict(phone=DALLAS, at=utc("2026-11-01T16:00:00Z")).send_after == utc("2026-11-01T18:00:00Z")


def test_texas_opens_at_nine_on_weekdays_and_saturdays():
    assert verdict(phone=DALLAS, at=utc("2026-03-09T14:30:00Z")).allowed is True  # Monday 09:30 CDT
    # Saturday 7 March, 08:30 CST: nine o'clock CST is 15:00 UTC.
    assert verdict(phone=DALLAS, at=utc("2026-03-07T14:30:00Z")).send_after == utc("2026-03-07T15:00:00Z")


def test_connecticut_opens_at_nine_on_both_daylight_saving_days():
    # 8 March: 08:30 EDT; nine EDT is 13:00 UTC. 1 November: 08:30 EST; nine EST is 14:00 UTC.
    assert verdict(phone=HARTFORD, at=utc("2026-03-08T12:30:00Z")).send_after == utc("2026-03-08T13:00:00Z")
    assert verdict(phone=HARTFORD, at=utc("2026-11-01T13:30:00Z")).send_after == utc("2026-11-01T14:00:00Z")
    # The federal rule alone would allow 08:30: a number in New York City may go.
    assert verdict(phone="+12125550123", at=utc("2026-11-01T13:30:00Z")).allowed is True


def test_the_address_adds_its_state_and_zones_to_the_numbers():
    # A San Francisco number whose owner lives in Connecticut: 20:30 EDT in Hartford is past CT's 20:00. They
    # may be in either place and either state's law may apply: Connecticut's 09:00 in both zones, 09:00 PDT.
    at = utc("2026-03-10T00:30:00Z")

    assert verdict(at=at).allowed is True  # 17:30 in San Francisco
    held = verdict(at=at, address_state="Connecticut")
    assert held.send_after == utc("2026-03-10T16:00:00Z")
    assert held.reasons[0].startswith(
        "quiet_hours: 20:30 on Monday in America/New_York is outside 09:00-20:00"
    )


def test_the_stores_state_adds_its_rules_in_the_recipients_time():
    # 20:30 PDT in San Francisco: allowed by the federal 21:00, not by Florida's 20:00 when the store is there.
    at = utc("2026-03-10T03:30:00Z")

    assert verdict(at=at).allowed is True
    held = verdict(at=at, store_jurisdiction="US-FL")
    assert held.send_after == utc("2026-03-10T15:00:00Z")  # 08:00 PDT
    assert held.reasons[0].startswith(
        "quiet_hours: 20:30 on Monday in America/Los_Angeles is outside 08:00-20:00 (US-FL)"
    )


def test_the_area_codes_state_applies_whatever_the_address():
    # An Oklahoma number at 20:30 CDT, owner's address in California: Oklahoma's 20:00 applies.
    held = verdict(phone=OKLAHOMA_CITY, address_state="CA", at=utc("2026-03-10T01:30:00Z"))

    assert held.codes == ("quiet_hours",)
    assert "(US-OK)" in held.reasons[0]


def test_the_federal_rule_holds_a_late_night_text():
    held = verdict(at=utc("2026-03-10T06:00:00Z"))  # 23:00 PDT

    assert held.send_after == utc("2026-03-10T15:00:00Z")
    assert held.reasons[0].startswith(
        "quiet_hours: 23:00 on Monday in America/Los_Angeles is outside 08:00-21:00 (US)"
    )


def test_a_rule_that_ended_no_longer_applies_and_a_weekday_row_replaces_the_daily_one():
    rules = GateRules(
        quiet_hours=(
            QuietWindow("US", None, dt.time(8), dt.time(21), "marketing", dt.date(2020, 1, 1), None),
            QuietWindow(
                "US-CA",
                None,
                dt.time(10),
                dt.time(18),
                "marketing",
                dt.date(2020, 1, 1),
                dt.date(2025, 12, 31),
            ),
            QuietWindow("US-CA", 0, dt.time(11), dt.time(17), "marketing", dt.date(2026, 1, 1), None),
        )
    )

    assert verdict(rules, at=utc("2026-03-09T17:30:00Z")).send_after == utc(
        "2026-03-09T18:00:00Z"
    )  # Monday 10:30
    assert (
        verdict(rules, at=utc("2026-03-10T16:00:00Z")).allowed is True
    )  # Tuesday 09:00: the daily row ended


def test_no_open_time_in_a_week_refuses():
    rules = GateRules(
        quiet_hours=(
            QuietWindow("US", None, dt.time(10), dt.time(9), "marketing", dt.date(2020, 1, 1), None),
        )
    )

    result = verdict(rules)

    assert result.allowed is False and result.send_after is None
    assert result.reasons == (
        "quiet_hours: 11:00 on Monday in America/Los_Angeles is outside 10:00-09:00 (US), "
        "and no time in the next 8 days is allowed.",
    )


def test_emails_have_no_quiet_hours_unless_configured(settings):
    late = {"channel": "email", "phone": "", "email": "ada@example.com", "address_state": "CA"}
    at = utc("2026-03-10T06:00:00Z")  # 23:00 PDT

    assert verdict(at=at, **late).allowed is True
    settings.GATE_RULE_CHANNELS = ("sms", "email")
    assert verdict(at=at, **late).send_after == utc("2026-03-10T15:00:00Z")


# --- Caps, smart sending, refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "state"), [(PANHANDLE, "US-FL"), (OKLAHOMA_CITY, "US-OK"), (BALTIMORE, "US-MD")]
)
def test_the_fourth_marketing_text_on_a_subject_in_a_day_is_refused(phone, state):
    at = utc("2026-03-09T18:00:00Z")

    assert verdict(phone=phone, at=at, marketing_sent_last_24h_same_subject=2).allowed is True
    refused = verdict(phone=phone, at=at, marketing_sent_last_24h_same_subject=3)
    assert refused.allowed is False and refused.send_after is None
    assert refused.codes == ("frequency_cap",)
    assert refused.reasons[0].startswith(
        f"frequency_cap: 3 marketing messages on this subject went to this number in the last 24 hours; "
        f"{state} allows 3 ("
    )


def test_caps_follow_the_address_and_store_and_spare_other_states_and_transactional_messages():
    at = utc("2026-03-09T18:00:00Z")

    assert verdict(at=at, marketing_sent_last_24h_same_subject=9).allowed is True  # California
    assert verdict(at=at, address_state="FL", marketing_sent_last_24h_same_subject=3).codes == (
        "frequency_cap",
    )
    assert verdict(at=at, store_jurisdiction="US-OK", marketing_sent_last_24h_same_subject=3).codes == (
        "frequency_cap",
    )
    assert verdict(
        phone=PANHANDLE, at=at, purpose="transactional", marketing_sent_last_24h_same_subject=9
    ).allowed


def test_a_cap_on_every_subject_counts_every_subject():
    rules = GateRules(
        caps=(FrequencyCap("US-CA", 5, 24, False, "marketing", dt.date(2020, 1, 1), None, "test"),)
    )

    assert verdict(rules, marketing_sent_last_24h_same_subject=1, marketing_sent_last_24h=4).allowed is True
    assert verdict(rules, marketing_sent_last_24h_same_subject=1, marketing_sent_last_24h=5).codes == (
        "frequency_cap",
    )


def test_smart_sending_refuses_a_second_marketing_text_within_a_day_and_an_email_within_16_hours():
    at = utc("2026-03-09T18:00:00Z")
    email = {"channel": "email", "phone": "", "email": "ada@example.com"}

    refused = verdict(at=at, last_marketing_at=at - dt.timedelta(hours=23))
    assert refused.allowed is False and refused.send_after is None
    assert refused.reasons == (
        "smart_sending: a marketing text went to this customer at 2026-03-08T19:00:00Z; the next may go 24 h "
        "after it, from 2026-03-09T19:00:00Z.",
    )
    assert verdict(at=at, last_marketing_at=at - dt.timedelta(hours=24)).allowed is True
    assert verdict(at=at, last_marketing_at=at - dt.timedelta(hours=15), **email).codes == ("smart_sending",)
    assert verdict(at=at, last_marketing_at=at - dt.timedelta(hours=16), **email).allowed is True
    assert (
        verdict(at=at, purpose="transactional", last_marketing_at=at - dt.timedelta(hours=1)).allowed is True
    )


def test_smart_sending_hours_are_settings(settings):
    at = utc("2026-03-09T18:00:00Z")
    settings.SMART_SENDING_SMS_HOURS = 2

    assert verdict(at=at, last_marketing_at=at - dt.timedelta(hours=3)).allowed is True
    assert verdict(at=at, last_marketing_at=at - dt.timedelta(hours=1)).codes == ("smart_sending",)


def test_no_consent_and_suppression_refuse_with_their_reasons():
    result = verdict(consent=False, suppressed=("stopped", "invalid"))

    assert result.allowed is False and result.send_after is None
    assert result.reasons == (
        "suppressed: the address is suppressed (the number replied STOP; not a valid phone number).",
        "no_consent: the customer has not agreed to marketing texts, or has withdrawn.",
    )


def test_a_refused_message_is_not_held_even_in_quiet_hours():
    result = verdict(at=utc("2026-03-10T06:00:00Z"), consent=False)

    assert result.send_after is None
    assert result.codes == ("no_consent", "quiet_hours")


def test_a_message_held_past_its_usefulness_expires():
    at = utc("2026-03-10T06:00:00Z")  # 23:00 PDT, held until 15:00 UTC

    result = verdict(at=at, send_before=utc("2026-03-10T12:00:00Z"))
    assert result.allowed is False and result.send_after is None
    assert result.codes == ("expired", "quiet_hours")
    assert verdict(at=at, send_before=at - dt.timedelta(minutes=1)).codes[0] == "expired"
    assert verdict(at=at, send_before=utc("2026-03-10T16:00:00Z")).held is True


def test_marketing_through_a_notifications_sender_is_refused():
    assert verdict(sender_use_case="notifications").codes == ("sender_use_case",)
    assert verdict(sender_use_case="marketing").allowed is True
    assert verdict(purpose="transactional", sender_use_case="notifications").allowed is True


# --- Transactional messages and the STOP confirmation --------------------------------------------------------


def test_transactional_messages_pass_marketing_quiet_hours_but_not_a_rule_for_every_message():
    at = utc("2026-03-10T06:00:00Z")  # 23:00 PDT
    everything = GateRules(
        quiet_hours=(
            *SEED.quiet_hours,
            QuietWindow("US-CA", None, dt.time(7), dt.time(22), "all", dt.date(2020, 1, 1), None),
        )
    )

    assert verdict(at=at, purpose="transactional").allowed is True
    held = verdict(everything, at=at, purpose="transactional")
    assert held.send_after == utc("2026-03-10T14:00:00Z")  # 07:00 PDT: the marketing rows do not apply
    assert held.reasons[0].startswith(
        "quiet_hours: 23:00 on Monday in America/Los_Angeles is outside 07:00-22:00 (US-CA)"
    )
    # Marketing takes both rows: 08:00-21:00 federal and 07:00-22:00 for all: 08:00 PDT.
    assert verdict(everything, at=at).send_after == utc("2026-03-10T15:00:00Z")


def test_a_transactional_revocation_refuses_transactional_messages():
    result = verdict(purpose="transactional", consent=False)

    assert result.reasons == (
        "no_consent: the customer has not agreed to transactional texts, or has withdrawn.",
    )


def test_the_stop_confirmation_passes_right_after_stop():
    after_stop = {"purpose": "transactional", "consent": False, "suppressed": ("stopped",)}

    assert verdict(message_purpose="stop_confirmation", **after_stop).allowed is True
    assert verdict(message_purpose="receipt", **after_stop).codes == ("suppressed", "no_consent")
    # Only the STOP is overlooked: an invalid number stays refused, and marketing never passes.
    assert verdict(
        message_purpose="stop_confirmation", **{**after_stop, "suppressed": ("invalid",)}
    ).codes == ("suppressed",)
    assert verdict(purpose="marketing", message_purpose="stop_confirmation", consent=False).codes == (
        "no_consent",
    )


def test_zoneinfo_round_trip_of_the_seeded_windows_on_the_dst_days():
    """Every seeded window opens at its local start on both daylight-saving days in every zone it may apply in."""
    for day in (dt.date(2026, 3, 8), dt.date(2026, 11, 1)):
        for zone in (EASTERN, CENTRAL, MOUNTAIN, PACIFIC):
            start = dt.datetime.combine(day, dt.time(8), tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)
            assert start.astimezone(zoneinfo.ZoneInfo(zone)).time() == dt.time(8)


# --- The rule tables and the facts of a queued message (database) --------------------------------------------


def consent_record(customer, *, channel="sms", purpose="marketing", granted=True):
    return MarketingConsent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        disclosure_version="v1",
        disclosure_text="Texts from Green Leaf.",
        source="counter",
        recorded_at=utc("2026-01-05T17:00:00Z"),
    )


def queued(customer, *, store, category="marketing", purpose="campaign", topic="4/20", to=None, **fields):
    return OutboundMessage.objects.create(
        organization=customer.organization,
        store=store,
        customer=customer,
        channel=fields.pop("channel", "sms"),
        category=category,
        purpose=purpose,
        topic=topic,
        to=to or customer.phone,
        body="Hello",
        **fields,
    )


@pytest.mark.django_db
def test_the_seeded_tables_are_the_seed_module(django_assert_num_queries):
    at = utc("2026-03-09T18:00:00Z")

    with django_assert_num_queries(2):
        loaded = gate_rules(at)
    with django_assert_num_queries(0):
        assert gate_rules(at + dt.timedelta(hours=1)) is loaded  # kept for the day

    assert sorted(loaded.quiet_hours, key=repr) == sorted(SEED.quiet_hours, key=repr)
    assert sorted(loaded.caps, key=repr) == sorted(SEED.caps, key=repr)


@pytest.mark.django_db
def test_a_row_counsel_adds_is_read_at_once():
    at = utc("2026-03-09T18:00:00Z")
    evening = utc("2026-03-10T00:30:00Z")  # 20:30 EDT in Atlanta
    assert verdict(gate_rules(at), address_state="GA", at=evening).allowed is True

    QuietHoursRule.objects.create(
        jurisdiction="US-GA",
        start=dt.time(9),
        end=dt.time(20),
        effective_from=dt.date(2026, 1, 1),
        source="test",
    )

    held = verdict(gate_rules(at), address_state="GA", at=evening)
    assert held.codes == ("quiet_hours",)


@pytest.mark.django_db
def test_message_facts_reads_everything_in_four_queries(store, django_assert_num_queries):
    customer = CustomerFactory(organization=store.organization, phone=PANHANDLE, region="Florida")
    consent_record(customer)
    at = utc("2026-03-09T18:00:00Z")
    for hours, topic in ((30, "4/20"), (20, "4/20"), (10, "4/20"), (5, "new menu")):
        queued(customer, store=store, topic=topic, status="sent", sent_at=at - dt.timedelta(hours=hours))
    queued(customer, store=store, status="sent", channel="email", to="a@example.com", sent_at=at)
    queued(customer, store=store, category="transactional", purpose="receipt", status="sent", sent_at=at)
    Suppression.objects.create(
        organization=store.organization,
        channel="sms",
        address=PANHANDLE,
        reason="unsubscribed",
        category="marketing",
        created_at=at,
    )
    message = queued(customer, store=store, send_before=at + dt.timedelta(days=1))

    with django_assert_num_queries(4):
        found = message_facts(message, at=at)

    assert found == SendFacts(
        channel="sms",
        purpose="marketing",
        at=at,
        phone=PANHANDLE,
        address_state="Florida",
        store_jurisdiction="US-CA",
        consent=True,
        suppressed=("unsubscribed",),
        marketing_sent_last_24h_same_subject=2,
        last_marketing_at=at - dt.timedelta(hours=5),
        message_purpose="campaign",
        marketing_sent_last_24h=3,
        store_time_zone="America/Los_Angeles",
        send_before=at + dt.timedelta(days=1),
    )


@pytest.mark.django_db
def test_a_transactional_message_needs_three_queries_and_ignores_a_marketing_unsubscribe(
    store, django_assert_num_queries
):
    customer = CustomerFactory(organization=store.organization, phone=DALLAS, region="US-TX")
    at = utc("2026-03-09T18:00:00Z")
    Suppression.objects.create(
        organization=store.organization,
        channel="sms",
        address=DALLAS,
        reason="unsubscribed",
        category="marketing",
        created_at=at,
    )
    message = queued(customer, store=store, category="transactional", purpose="delivery")

    with django_assert_num_queries(3):
        found = message_facts(message, at=at)

    assert (found.consent, found.suppressed, found.address_state) == (True, (), "US-TX")
    assert message_verdict(message, at=at, rules=SEED).allowed is True


@pytest.mark.django_db
def test_the_queue_holds_a_marketing_text_until_the_quiet_hours_end(store):
    customer = CustomerFactory(organization=store.organization, phone=PANHANDLE, region="FL")
    consent_record(customer)
    message = queued(customer, store=store)

    status = message_send(message.pk, now=utc("2026-03-08T01:30:00Z"))

    message.refresh_from_db()
    assert (status, message.send_after) == ("queued", utc("2026-03-08T13:00:00Z"))
    assert message.gate_reasons == [
        "quiet_hours: 20:30 on Saturday in America/New_York is outside 08:00-20:00 (US-FL); "
        "it may go from 2026-03-08T13:00:00Z."
    ]


@pytest.mark.django_db
def test_the_queue_refuses_after_a_transactional_revocation_but_sends_the_stop_confirmation(
    store, settings, tmp_path
):
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_FILE = tmp_path / "outbox.log"
    customer = CustomerFactory(organization=store.organization, phone=SAN_FRANCISCO, region="CA")
    consent_record(customer, purpose="transactional", granted=False)
    Suppression.objects.create(
        organization=store.organization,
        channel="sms",
        address=SAN_FRANCISCO,
        reason="stopped",
        created_at=utc("2026-03-09T17:00:00Z"),
    )
    receipt = queued(customer, store=store, category="transactional", purpose="receipt")
    confirmation = queued(customer, store=store, category="transactional", purpose="stop_confirmation")
    at = utc("2026-03-09T18:00:00Z")

    assert message_send(receipt.pk, now=at) == "refused"
    assert message_send(confirmation.pk, now=at) == "sent"
    receipt.refresh_from_db()
    assert [reason.split(":")[0] for reason in receipt.gate_reasons] == ["suppressed", "no_consent"]


@pytest.mark.django_db
def test_the_admin_lists_and_edits_the_rule_tables(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        "counsel", "counsel@example.com", "pw-for-tests-1"
    )
    client.force_login(admin_user)

    for name in ("quiethoursrule", "frequencycaprule"):
        page = client.get(f"/admin/messaging/{name}/?jurisdiction=US-FL")
        assert page.status_code == 200
    form = QuietHoursRuleForm(
        data={
            "jurisdiction": "Nevada",
            "start": "09:00",
            "end": "20:00",
            "applies_to": "marketing",
            "effective_from": "2026-01-01",
            "source": "test",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["jurisdiction"] == "US-NV"
    backwards = QuietHoursRuleForm(data={**form.data, "start": "20:00", "end": "09:00"})
    assert not backwards.is_valid()
    cap = FrequencyCapRuleForm(
        data={
            "jurisdiction": "Atlantis",
            "max_messages": 3,
            "period_hours": 12,
            "applies_to": "marketing",
            "effective_from": "2026-01-01",
            "source": "test",
        }
    )
    assert not cap.is_valid()
    assert set(cap.errors) == {"jurisdiction", "period_hours"}


@pytest.mark.parametrize(
    ("phone", "address_state", "at"),
    [
        (PANHANDLE, "TX", "2026-03-08T01:30:00Z"),
        (DALLAS, "CT", "2026-11-01T03:10:00Z"),
        ("+18085550123", "GU", "2026-03-09T12:00:00Z"),  # Honolulu number, address in Guam: 20 hours apart
        ("+19075550123", "FL", "2026-11-01T09:00:00Z"),  # Alaska (two zones) and Florida (two zones)
        (HARTFORD, "AZ", "2026-03-08T12:45:00Z"),
    ],
)
def test_send_after_is_the_first_open_minute(phone, address_state, at):
    """The found instant against a minute-by-minute walk (the windows start on whole minutes)."""
    found = verdict(phone=phone, address_state=address_state, at=utc(at))
    place = recipient_place(facts(phone=phone, address_state=address_state))

    assert found.held is True
    moment = utc(at)
    while _closed_at(moment, place, SEED, marketing=True) is not None:
        moment += dt.timedelta(minutes=1)
    assert found.send_after == moment
