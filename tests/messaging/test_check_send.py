"""`manage.py check_send FILE`: the gate's verdict on one message as JSON; a bad file is a clear error on standard
error, exit status 2 and nothing on standard output."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

EXAMPLE = {
    "channel": "sms",
    "purpose": "marketing",
    "phone": "+18505550123",
    "address_state": "FL",
    "store_jurisdiction": "US-CA",
    "at": "2026-03-08T01:30:00Z",
    "consent": True,
    "marketing_sent_last_24h_same_subject": 2,
    "last_marketing_at": None,
}


def run(tmp_path, document, *, raw=None):
    path = tmp_path / "message.json"
    path.write_text(raw if raw is not None else json.dumps(document))
    out = io.StringIO()
    call_command("check_send", str(path), stdout=out)
    return json.loads(out.getvalue())


def test_the_issue_example_is_held_until_eight_central_time(tmp_path):
    # 01:30 UTC on 8 March 2026 is 20:30 EST in Tallahassee: past Florida's 20:00 (the store's California has no
    # stricter rule). 850 is also Pensacola, on Central time. Clocks go forward that night; the first instant when
    # 08:00 has come in both zones is 08:00 CDT, 13:00 UTC. Two texts on the subject today: a third is allowed.
    assert run(tmp_path, EXAMPLE) == {
        "allowed": False,
        "reasons": [
            "quiet_hours: 20:30 on Saturday in America/New_York is outside 08:00-20:00 (US-FL); "
            "it may go from 2026-03-08T13:00:00Z."
        ],
        "send_after": "2026-03-08T13:00:00Z",
    }


def test_standard_input_is_read_as_the_file(tmp_path):
    out = io.StringIO()
    call_command("check_send", "-", stdin=io.StringIO(json.dumps(EXAMPLE)), stdout=out)

    assert json.loads(out.getvalue()) == run(tmp_path, EXAMPLE)


def test_an_allowed_message(tmp_path):
    document = {**EXAMPLE, "at": "2026-03-08T15:00:00-04:00"}  # 15:00 EDT, 14:00 CDT

    assert run(tmp_path, document) == {"allowed": True, "reasons": [], "send_after": None}


def test_refusals_have_no_send_after(tmp_path):
    document = {
        **EXAMPLE,
        "at": "2026-03-09T18:00:00Z",
        "marketing_sent_last_24h_same_subject": 3,
        "last_marketing_at": "2026-03-09T10:00:00Z",
        "suppressed": ["stopped"],
        "consent": False,
    }

    verdict = run(tmp_path, document)

    assert verdict["allowed"] is False and verdict["send_after"] is None
    assert [reason.split(":")[0] for reason in verdict["reasons"]] == [
        "suppressed",
        "no_consent",
        "frequency_cap",
        "smart_sending",
    ]


def test_the_stop_confirmation_passes(tmp_path):
    document = {
        **EXAMPLE,
        "purpose": "stop_confirmation",
        "consent": False,
        "suppressed": ["stopped"],
        "at": "2026-03-08T03:30:00Z",  # 22:30 EST: marketing quiet hours do not apply
    }

    assert run(tmp_path, document) == {"allowed": True, "reasons": [], "send_after": None}


def test_an_email_needs_no_phone(tmp_path):
    document = {
        "channel": "email",
        "purpose": "marketing",
        "email": "ada@example.com",
        "at": "2026-03-09T18:00:00Z",
        "consent": True,
        "last_marketing_at": "2026-03-09T03:00:00Z",
    }

    assert run(tmp_path, document) == {
        "allowed": False,
        "reasons": [
            "smart_sending: a marketing email went to this customer at 2026-03-09T03:00:00Z; the next may go "
            "16 h after it, from 2026-03-09T19:00:00Z."
        ],
        "send_after": None,
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "file: must be a JSON object"),
        (json.dumps({**EXAMPLE, "colour": "green"}), "colour: unknown field"),
        (json.dumps({**EXAMPLE, "channel": "fax"}), 'channel: give "sms" or "email"'),
        (json.dumps({**EXAMPLE, "purpose": "spam"}), "purpose: give"),
        (json.dumps({**EXAMPLE, "phone": "850-555-0123"}), "phone: not an E.164 phone number"),
        (json.dumps({**EXAMPLE, "phone": ""}), "phone: a text needs the number"),
        (json.dumps({**EXAMPLE, "channel": "email"}), "email: an email needs the address"),
        (json.dumps({**EXAMPLE, "address_state": "Atlantis"}), "address_state: not a US state"),
        (
            json.dumps({**EXAMPLE, "store_jurisdiction": "California"}),
            "store_jurisdiction: not a jurisdiction",
        ),
        (json.dumps({**EXAMPLE, "at": "2026-03-08T01:30:00"}), "at: the time needs Z or its UTC offset"),
        (json.dumps({**EXAMPLE, "at": "yesterday"}), "at: not an ISO time"),
        (json.dumps({k: v for k, v in EXAMPLE.items() if k != "at"}), "at: required"),
        (json.dumps({**EXAMPLE, "consent": "yes"}), "consent: required: true or false"),
        (json.dumps({**EXAMPLE, "marketing_sent_last_24h_same_subject": -1}), "give a whole number"),
        (json.dumps({**EXAMPLE, "marketing_sent_last_24h_same_subject": True}), "give a whole number"),
        (json.dumps({**EXAMPLE, "last_marketing_at": 5}), "last_marketing_at: give an ISO time"),
        (json.dumps({**EXAMPLE, "suppressed": "stopped"}), "suppressed: give a list"),
        (json.dumps({**EXAMPLE, "suppressed": ["tired"]}), "suppressed: unknown reason 'tired'"),
        (json.dumps({**EXAMPLE, "store_time_zone": "Mars/Olympus"}), "store_time_zone: not a time zone"),
    ],
)
def test_bad_files_fail_with_a_clear_message_and_status_2(tmp_path, raw, message):
    out = io.StringIO()
    path = tmp_path / "message.json"
    path.write_text(raw)

    with pytest.raises(CommandError) as failure:
        call_command("check_send", str(path), stdout=out)

    assert message in str(failure.value)
    assert failure.value.returncode == 2
    assert out.getvalue() == ""


def test_a_missing_file_fails(tmp_path):
    with pytest.raises(CommandError, match="Cannot read") as failure:
        call_command("check_send", str(tmp_path / "missing.json"))

    assert failure.value.returncode == 2


def test_the_process_exits_2_with_the_error_on_standard_error_only():
    root = Path(__file__).resolve().parents[2]
    finished = subprocess.run(
        [sys.executable, "manage.py", "check_send", "-"],
        input=json.dumps({**EXAMPLE, "channel": "fax"}),
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dispensary.settings"},
        timeout=120,
        check=False,
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert 'channel: give "sms" or "email"' in finished.stderr
