"""The Metrc provider's transport rules, against the in-process simulator: keys and licence on every call,
batches of 10, local times, paging, retries and backoff, and how each failure is reported."""

import base64
import datetime as dt
import email.utils
from decimal import Decimal

import httpx
import pytest

from compliance.traceability import metrc
from compliance.traceability.base import Operation, Rejected, RowError, StatePackage, TransientFailure
from tests.compliance.traceability.conftest import CA_LICENSE, LA, SALE_AT, USER, VENDOR, make_provider


def sale(label: str, quantity="1", unit="g", total="10.00", number=None) -> dict:
    return metrc.receipt_object(
        SALE_AT,
        LA,
        "adult_use",
        transactions=[metrc.transaction_object(label, quantity, unit, total)],
        external_receipt_number=number,
    )


def seed_tags(simulator, count: int, quantity=5) -> list[str]:
    tags = [f"1A4FF0100000022000{n:06d}" for n in range(count)]
    for tag in tags:
        simulator.seed_package(CA_LICENSE, tag, quantity, "Grams", "Flower")
    return tags


def test_every_call_carries_the_keys_and_the_licence(simulator, provider):
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    provider.active_packages()
    provider.incoming_transfers()
    provider.adjustment_reasons()
    provider.submit(Operation.SALES_RECEIPT_VOID, [{"Id": simulator.receipts(CA_LICENSE)[0]["Id"]}])

    assert len(simulator.requests) == 5
    for request in simulator.requests:
        assert (request.vendor_key, request.user_key) == (VENDOR, USER)
        assert request.query["licenseNumber"] == CA_LICENSE


def test_basic_auth_is_vendor_key_then_user_key():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["Authorization"], request.url.params["licenseNumber"]))
        return httpx.Response(200, json={"Ids": [1], "Warnings": None})

    provider = metrc.MetrcProvider(
        base_url="http://metrc.test", vendor_key="V", user_key="U", license_number="L-1",
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    provider.submit(Operation.PACKAGE_ADJUST, [{"Label": "T"}])
    assert seen == [("Basic " + base64.b64encode(b"V:U").decode(), "L-1")]


def test_writes_go_in_batches_of_ten_and_ids_come_back_in_order(simulator, provider):
    tags = seed_tags(simulator, 23)
    result = provider.submit(Operation.SALES_RECEIPT_CREATE, [sale(tag) for tag in tags])

    posts = [r for r in simulator.requests if r.method == "POST"]
    assert [len(r.body) for r in posts] == [10, 10, 3]
    assert [r.body[0]["Transactions"][0]["PackageLabel"] for r in posts] == [tags[0], tags[10], tags[20]]
    receipts = simulator.receipts(CA_LICENSE)
    assert result.ids == [r["Id"] for r in receipts]
    assert [r["Transactions"][0]["PackageLabel"] for r in receipts] == tags


def test_row_errors_of_a_later_batch_are_indexed_into_the_callers_objects(simulator, provider):
    tags = seed_tags(simulator, 14)
    objects = [sale(tag) for tag in tags]
    objects[12] = sale("UNKNOWN-TAG")
    objects[13] = sale(tags[13], quantity="6")  # 5 g in the package

    with pytest.raises(Rejected) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, objects)

    assert caught.value.status_code == 400
    assert caught.value.errors == [
        RowError(12, f"Package UNKNOWN-TAG was not found at facility {CA_LICENSE}."),
        RowError(13, f"Package {tags[13]} has 5 Grams available; 6 cannot be sold."),
    ]
    assert caught.value.accepted_count == 10  # the first batch went through
    assert len(caught.value.accepted_ids) == 10
    assert simulator.package(CA_LICENSE, tags[11]).quantity == Decimal(5)  # the second batch did not


def test_sales_date_time_is_facility_local_time_without_offset():
    winter = dt.datetime(2025, 1, 15, 3, 30, 15, 250_000, tzinfo=dt.UTC)
    summer = dt.datetime(2025, 7, 15, 3, 30, tzinfo=dt.UTC)
    assert metrc.metrc_local_datetime(winter, LA) == "2025-01-14T19:30:15.250"
    assert metrc.metrc_local_datetime(summer, LA) == "2025-07-14T20:30:00.000"
    assert metrc.metrc_local_datetime(summer, "America/Detroit") == "2025-07-14T23:30:00.000"
    assert metrc.metrc_date(summer, LA) == "2025-07-14"
    with pytest.raises(ValueError):
        metrc.metrc_local_datetime(dt.datetime(2025, 1, 1, 12, 0), LA)  # noqa: DTZ001 - naive on purpose
    built = metrc.retailer_delivery_end_object(1, winter, LA, packages=[])
    assert built["ActualArrivalDateTime"] == "2025-01-14T19:30:15.250"
    assert (
        metrc.retailer_delivery_object(summer, LA, packages=[], driver={})["DateTime"]
        == "2025-07-14T20:30:00.000"
    )


def test_lists_are_read_page_by_page_with_the_modified_range(simulator, provider):
    tags = seed_tags(simulator, 43)  # with the two the fixture seeds: 45 packages, three pages
    since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    packages = provider.active_packages(modified_since=since)

    gets = [r.query for r in simulator.requests]
    assert [(q["pageNumber"], q["pageSize"]) for q in gets] == [("1", "20"), ("2", "20"), ("3", "20")]
    assert all(q["lastModifiedStart"] == "2025-01-01T00:00:00Z" and q["lastModifiedEnd"] for q in gets)
    assert len(packages) == 45
    assert {p.label for p in packages} == {*tags, "TAG-FLOWER", "TAG-CART"}
    flower = next(p for p in packages if p.label == "TAG-FLOWER")
    assert flower == StatePackage(
        label="TAG-FLOWER", quantity=Decimal(28), unit_of_measure="Grams", item_name="Blue Dream",
        lab_testing_state="TestPassed", last_modified=flower.last_modified,
    )  # fmt: skip
    assert provider.active_packages(modified_since=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == []


def test_429_is_retried_after_retry_after_then_succeeds(simulator, provider, clock):
    simulator.queue_response(429, count=2, retry_after="3", methods=["GET"])
    packages = provider.active_packages()
    assert len(packages) == 2
    # At least the state's Retry-After, plus a little jitter (at most the backoff base, 0.5 s).
    assert len(clock.sleeps) == 2 and all(3.0 <= sleep <= 3.5 for sleep in clock.sleeps)


def test_a_retry_after_longer_than_the_longest_backoff_is_left_to_the_queue(simulator, clock):
    provider = make_provider(simulator, clock, backoff_max=2)
    simulator.queue_response(429, count=1, retry_after="60", methods=["POST"])
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert (caught.value.status_code, caught.value.retry_after, caught.value.outcome_unknown) == (
        429,
        60,
        False,
    )
    assert clock.sleeps == [] and simulator.receipts(CA_LICENSE) == []


def test_retry_after_as_an_http_date_is_honoured():
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    response = httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    assert 15 <= metrc._retry_after_seconds(response) <= 20


def test_a_refused_write_is_retried_with_exponential_backoff_and_jitter_then_succeeds(
    simulator, provider, clock
):
    simulator.queue_response(500, count=1, methods=["POST"])
    simulator.queue_response(429, count=1, methods=["POST"])
    result = provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert len(result.ids) == 1
    first, second = clock.sleeps
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0  # the upper half of each step
    assert len(simulator.receipts(CA_LICENSE)) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_write_whose_answer_is_a_gateway_error_is_never_sent_again(simulator, provider, clock, status):
    simulator.queue_response(status, count=1, methods=["POST"])
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert caught.value.outcome_unknown is True and caught.value.status_code == status
    assert clock.sleeps == [] and simulator.call_count == 1


@pytest.mark.parametrize("lost_answer", ["timeout", "drop", "504"])
def test_a_write_applied_whose_answer_is_lost_is_outcome_unknown(simulator, clock, lost_answer):
    provider = make_provider(simulator, clock, timeout=0.05)
    simulator.set_faults(lose_after_every=1, lost_answer=lost_answer, timeout_seconds=0.05)
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", number="R-1")])
    assert caught.value.outcome_unknown is True
    assert simulator.call_count == 1 and len(simulator.receipts(CA_LICENSE)) == 1  # applied, sent once
    simulator.set_faults(lose_after_every=None)
    assert provider.receipt_id_by_external_number("R-1") == simulator.receipts(CA_LICENSE)[0]["Id"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 501])
def test_answers_that_will_never_change_are_not_retried(simulator, provider, clock, status):
    simulator.queue_response(status, count=1, methods=["GET"])
    with pytest.raises(Rejected) as caught:
        provider.active_packages()
    assert caught.value.status_code == status
    assert clock.sleeps == [] and simulator.call_count == 1


def test_a_read_whose_answer_is_lost_is_read_again(simulator, provider, clock):
    simulator.queue_response(504, count=1, methods=["GET"], timeout=True)
    assert len(provider.active_packages()) == 2
    assert len(clock.sleeps) == 2  # the client's read timeout, then one backoff


def test_retries_are_bounded_then_transient_failure(simulator, clock):
    provider = make_provider(simulator, clock, max_attempts=3, backoff_base=1, backoff_max=1.5)
    simulator.queue_response(503, count=3, retry_after=None)
    with pytest.raises(TransientFailure) as caught:
        provider.active_packages()
    assert caught.value.status_code == 503
    first, second = clock.sleeps
    assert 0.5 <= first <= 1 and 0.75 <= second <= 1.5
    assert simulator.call_count == 3


class FailingAfter(httpx.BaseTransport):
    """Passes the first `ok_calls` calls to the simulator, then answers 503 to every call."""

    def __init__(self, inner: httpx.BaseTransport, ok_calls: int):
        self.inner, self.ok_calls, self.calls = inner, ok_calls, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls > self.ok_calls:
            return httpx.Response(503, json={"Message": "down"})
        return self.inner.handle_request(request)


def test_exhausted_retries_in_a_later_batch_say_how_many_objects_were_accepted(simulator, clock):
    tags = seed_tags(simulator, 12)
    provider = make_provider(simulator, clock, transport=FailingAfter(simulator.transport(), ok_calls=1))
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale(tag) for tag in tags])
    assert caught.value.status_code == 503
    assert caught.value.accepted_count == 10
    assert caught.value.accepted_ids == [r["Id"] for r in simulator.receipts(CA_LICENSE)]
    # A 503 after sending leaves open whether the second batch was applied: it is not sent again.
    assert caught.value.outcome_unknown is True and clock.sleeps == []


def test_a_timeout_is_a_transient_failure(simulator, clock):
    provider = make_provider(simulator, clock, timeout=0.05)
    simulator.set_faults(timeout_every=1, timeout_seconds=5)
    with pytest.raises(TransientFailure, match="within 0.05s") as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert caught.value.outcome_unknown is True
    assert clock.sleeps == [0.05]  # waited out the client's read timeout, not the simulator's 5 s
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(28)


def test_the_client_has_the_configured_timeout(provider):
    assert provider._client.timeout == httpx.Timeout(10.0)


def test_an_unreachable_service_is_a_transient_failure():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    provider = metrc.MetrcProvider(
        base_url="http://metrc.test", vendor_key="V", user_key="U", license_number="L",
        transport=httpx.MockTransport(refuse),
    )  # fmt: skip
    with pytest.raises(TransientFailure, match="unreachable"):
        provider.active_packages()


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"user_key": "wrong"}, 401),
        ({"vendor_key": "wrong"}, 401),
        ({"license_number": "C10-9999999-LIC"}, 403),
    ],
)
def test_bad_keys_or_licence_are_rejected(simulator, clock, overrides, status):
    provider = make_provider(simulator, clock, **overrides)
    with pytest.raises(Rejected) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert caught.value.status_code == status
    with pytest.raises(Rejected):
        provider.active_packages()


def test_more_than_ten_objects_in_one_request_is_413(simulator, provider):
    provider.batch_size = 11  # pretend the provider forgot Metrc's limit
    tags = seed_tags(simulator, 11)
    with pytest.raises(Rejected) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale(tag) for tag in tags])
    assert caught.value.status_code == 413
    assert simulator.receipts(CA_LICENSE) == []


def test_404_is_rejected():
    provider = metrc.MetrcProvider(
        base_url="http://metrc.test", vendor_key="V", user_key="U", license_number="L",
        transport=httpx.MockTransport(lambda request: httpx.Response(404, json={"Message": "No such resource"})),
    )  # fmt: skip
    with pytest.raises(Rejected, match="No such resource") as caught:
        provider.submit(Operation.RETAILER_DELIVERY_DEPART, [{"RetailerDeliveryId": 1}])
    assert caught.value.status_code == 404


def test_voiding_an_unknown_receipt_is_rejected_on_its_row(simulator, provider):
    receipt = provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", "2")]).ids[0]
    with pytest.raises(Rejected) as caught:
        provider.submit(Operation.SALES_RECEIPT_VOID, [{"Id": receipt}, {"Id": 999999}])
    assert caught.value.errors == [RowError(1, "Receipt 999999 was not found.")]
    assert caught.value.accepted_ids == [receipt]
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(28)  # the first void went through
