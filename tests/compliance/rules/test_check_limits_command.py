"""`manage.py check_limits FILE.json`: the verdict as JSON, and clear errors with a non-zero exit for bad files."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

EXAMPLE = {
    "jurisdiction": "US-CO",
    "date": "2026-03-01",
    "customer": {"type": "adult_use", "age": 34, "resident": True},
    "history": [{"at": "2026-03-01T10:00:00-07:00", "lines": [{"bucket": "flower_g", "amount": "10"}]}],
    "cart": [{"bucket": "concentrate_g", "amount": "4"}],
}


def run(tmp_path, document, *, raw=None):
    path = tmp_path / "request.json"
    path.write_text(raw if raw is not None else json.dumps(document))
    out = io.StringIO()
    call_command("check_limits", str(path), stdout=out)
    return json.loads(out.getvalue())


def test_the_issue_example_prints_the_verdict(tmp_path):
    verdict = run(tmp_path, EXAMPLE)

    assert verdict["allowed"] is True
    assert verdict["jurisdiction"] == "US-CO"
    assert verdict["time_zone"] == "America/Denver"
    assert verdict["limits"][0]["used_before"] == "10"
    assert verdict["limits"][0]["in_cart"] == "14"
    assert verdict["limits"][0]["remaining"] == "4"
    assert {b["bucket"]: b["remaining"] for b in verdict["buckets"]}["concentrate_g"] == "1.142"
    assert verdict["violations"] == []


def test_standard_input_is_read_as_the_file(tmp_path):
    """`check_limits -` reads the request from standard input, as the README says, with the same verdict."""
    out = io.StringIO()
    call_command("check_limits", "-", stdin=io.StringIO(json.dumps(EXAMPLE)), stdout=out)

    assert json.loads(out.getvalue()) == run(tmp_path, EXAMPLE)


def test_a_violation_is_printed_with_its_sentence(tmp_path):
    document = {**EXAMPLE, "cart": [{"bucket": "flower_g", "amount": "21.5", "label": "Gelato 21.5g"}]}

    verdict = run(tmp_path, document)

    assert verdict["allowed"] is False
    assert verdict["violations"] == [
        {
            "code": "limit_exceeded",
            "message": "Line 1 (Gelato 21.5g) would bring flower and equivalents to 31.5 g of the 28 g daily "
            "limit: 3.5 g over.",
            "line": 1,
            "limit": "flower and equivalents",
            "over": "3.5",
            "unit": "g",
        }
    ]


def test_a_store_brings_its_own_time_zone(tmp_path):
    store = StoreFactory(jurisdiction="US-CO", time_zone="America/Phoenix")
    history = [{"at": "2026-03-01T23:30:00-07:00", "lines": [{"bucket": "flower_g", "amount": "28"}]}]
    document = {
        **EXAMPLE,
        "store": store.pk,
        "history": history,
        "cart": [{"bucket": "flower_g", "amount": "1"}],
    }

    # 23:30 MST on 1 March: still 1 March in Phoenix, as in Denver (Denver keeps MST until 8 March).
    assert run(tmp_path, document)["allowed"] is False
    assert run(tmp_path, {**document, "date": "2026-03-02"})["allowed"] is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({**EXAMPLE, "jurisdiction": "Colorado"}), "jurisdiction: Use an ISO 3166-2 code"),
        (json.dumps({**EXAMPLE, "jurisdiction": "US-ZZ"}), "No rules for jurisdiction US-ZZ"),
        (json.dumps({**EXAMPLE, "date": "01/03/2026"}), "date: Give the store-local date"),
        (json.dumps({**EXAMPLE, "cart": [{"bucket": "flour_g", "amount": "1"}]}), "Unknown bucket 'flour_g'"),
        (json.dumps({**EXAMPLE, "cart": [{"bucket": "flower_g", "amount": "-1"}]}), "between 0 and"),
        (json.dumps({**EXAMPLE, "cart": []}), "cart: Give at least one line"),
        (json.dumps({**EXAMPLE, "customer": {"type": "adult_use"}}), "customer.age"),
        (
            json.dumps({**EXAMPLE, "history": [{"at": "2026-03-01T10:00:00", "lines": []}]}),
            "history[0].at: The time needs its UTC offset",
        ),
        (json.dumps({**EXAMPLE, "store": 999999}), "no store with id 999999"),
    ],
)
def test_bad_files_fail_with_a_clear_message(tmp_path, raw, message):
    with pytest.raises(CommandError) as failure:
        run(tmp_path, None, raw=raw)

    assert message in str(failure.value)


def test_a_missing_file_fails(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("check_limits", str(tmp_path / "missing.json"))


def test_a_store_of_another_state_is_refused(tmp_path):
    store = StoreFactory(jurisdiction="US-CA", time_zone="America/Los_Angeles")

    with pytest.raises(CommandError, match="follows US-CA's rules, not US-CO's"):
        run(tmp_path, {**EXAMPLE, "store": store.pk})
