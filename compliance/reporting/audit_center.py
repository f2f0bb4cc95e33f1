"""The audit center: find a patient, package, harvest batch, manifest or day, and gather its complete record on
one page for a compliance officer or an inspector. Each record is read in a fixed number of queries however
many packages or movements it spans, and every view of a patient's record is itself logged.

Sales (and deliveries) join the patient, package and day records once the checkout and the delivery app record
them: each is one more section built in `_package_sections`, `patient_record` and `day_record`."""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from compliance.models import (
    CaregiverLink,
    IdVerification,
    LoopingAlert,
    PatientRegistration,
    SyncRecord,
)
from compliance.reporting.reports.document import Document, Table
from compliance.reporting.reports.sales import purchase_history_table
from delivery.models import DeliveryProof
from dispensary.clock import store_local_day_bounds
from dispensary.errors import InvalidPhoneNumber
from dispensary.inputs import date_problem
from dispensary.models import AuditRecord, Customer, Organization, Store
from dispensary.phones import phone_display, phone_normalize
from dispensary.selectors import customer_record_viewed
from dispensary.wording import plain_words
from inventory.models import (
    CountLine,
    IncomingTransfer,
    Package,
    Recall,
    ReceivingDiscrepancy,
    StockMovement,
    TransferLine,
    WasteRecord,
    quantity_text,
)
from inventory.services.stock import AdjustmentReason

RESULT_LIMIT = 50
TAG = re.compile(r"^[0-9A-Z]{24}$")
REASON_LABELS = dict(AdjustmentReason.CHOICES)


class SearchKind:
    AUTO = "auto"
    PATIENT = "patient"
    TAG = "tag"
    BATCH = "batch"
    MANIFEST = "manifest"
    DATE = "date"

    CHOICES = [
        (AUTO, "Anything"),
        (PATIENT, "Patient (phone or name)"),
        (TAG, "Package tag"),
        (BATCH, "Harvest batch"),
        (MANIFEST, "Manifest number"),
        (DATE, "Date"),
    ]


@dataclass
class SearchResults:
    query: str
    kind: str
    patients: list[Customer] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    batches: list[tuple[str, int]] = field(default_factory=list)  # (batch, packages)
    manifests: list[IncomingTransfer] = field(default_factory=list)
    day: dt.date | None = None

    @property
    def total(self) -> int:
        return (
            len(self.patients) + len(self.packages) + len(self.batches) + len(self.manifests) + bool(self.day)
        )


def parse_day(text: str) -> dt.date | None:
    """A day typed in the search or the URL; a day outside the platform's range of dates (year 9999) is none."""
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"):
        try:
            day = dt.datetime.strptime(text, pattern).replace(tzinfo=dt.UTC).date()
        except ValueError:
            continue
        return None if date_problem(day) else day
    return None


def audit_search(
    *, organization: Organization, store: Store, query: str, kind: str = SearchKind.AUTO
) -> SearchResults:
    """Patients of the organization; packages, batches, manifests and days of the store. At most one query per
    kind searched."""
    text = " ".join(query.split())
    results = SearchResults(text, kind)
    if not text:
        return results
    auto = kind == SearchKind.AUTO
    if kind == SearchKind.DATE or auto:
        results.day = parse_day(text)
        if results.day and auto:
            return results
    if kind == SearchKind.TAG or auto:
        tag = text.upper().replace(" ", "")
        packages = Package.objects.filter(store=store).select_related("product")
        packages = packages.filter(tag=tag) if TAG.match(tag) else packages.filter(tag__icontains=tag)
        if auto and not TAG.match(tag) and len(tag) < 6:
            packages = packages.none()  # a name or a short word is not a tag fragment worth listing
        results.packages = list(packages.order_by("tag")[:RESULT_LIMIT])
        if auto and TAG.match(tag) and results.packages:
            return results
    if kind == SearchKind.PATIENT or auto:
        results.patients = _patients(organization, text)
    if kind == SearchKind.BATCH or auto:
        batches = (
            Package.objects.filter(store=store, harvest_batch__iexact=text)
            if auto
            else Package.objects.filter(store=store, harvest_batch__icontains=text)
        )
        grouped: dict[str, int] = {}
        for batch in batches.exclude(harvest_batch="").values_list("harvest_batch", flat=True)[:1000]:
            grouped[batch] = grouped.get(batch, 0) + 1
        results.batches = sorted(grouped.items())[:RESULT_LIMIT]
    if kind == SearchKind.MANIFEST or auto:
        manifests = IncomingTransfer.objects.filter(store=store)
        manifests = (
            manifests.filter(manifest_number__iexact=text)
            if auto
            else manifests.filter(manifest_number__icontains=text)
        )
        results.manifests = list(manifests.order_by("-created_at")[:RESULT_LIMIT])
    return results


def _patients(organization: Organization, text: str) -> list[Customer]:
    customers = Customer.objects.filter(organization=organization)
    if any(char.isdigit() for char in text):
        try:
            phone = phone_normalize(text)
        except InvalidPhoneNumber:
            return []
        return list(customers.filter(phone=phone)[:RESULT_LIMIT])
    for word in text.split():
        customers = customers.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return list(customers.order_by("last_name", "first_name", "id")[:RESULT_LIMIT])


def _url(name: str, *args, query: str = "") -> str:
    try:
        url = reverse(f"compliance:reports:{name}", args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{query}" if query else url


def _when(value: dt.datetime | None, store: Store | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value, store.tz) if store else timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M}"


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _json(value) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {item}" for key, item in value.items())
    return str(value)


# --- Packages (one, a harvest batch, a manifest's) ------------------------------------------------------------


def _package_table(packages: list[Package], store: Store) -> Table:
    table = Table(
        "Packages",
        [
            "Tag",
            "Product",
            "Status",
            "Location",
            "Harvest batch",
            "Supplier",
            "Received",
            "On hand",
            "Allocated",
            "Lab",
        ],
        numeric=frozenset({7, 8}),
    )
    for package in packages:
        table.add(
            [
                package.tag,
                package.product.name,
                package.get_status_display(),
                package.get_location_display(),
                package.harvest_batch,
                " ".join(part for part in (package.supplier_name, package.supplier_license) if part),
                _when(package.received_at, store),
                quantity_text(package.quantity_on_hand),
                quantity_text(package.quantity_allocated),
                package.get_lab_status_display(),
            ],
            link=_url("audit_package", package.pk),
        )
    return table


def _package_sections(packages: list[Package], store: Store) -> list[Table]:
    """Everything recorded about the packages, one table per kind of record. Eight queries."""
    ids = [package.pk for package in packages]
    tags = {package.pk: package.tag for package in packages}
    movements = Table(
        "Stock movements",
        ["When", "Tag", "Kind", "Quantity", "Allocated", "By", "Reason", "Reference", "Note"],
        numeric=frozenset({3, 4}),
    )
    for movement in StockMovement.objects.filter(package_id__in=ids).order_by("created_at", "id"):
        movements.add(
            [
                _when(movement.created_at, store),
                tags[movement.package_id],
                movement.get_kind_display(),
                quantity_text(movement.quantity),
                quantity_text(movement.allocated_delta),
                movement.actor_label,
                REASON_LABELS.get(movement.reason, movement.reason),
                f"{movement.reference_type} {movement.reference_id}".strip(),
                movement.note,
            ]
        )
    waste = Table(
        "Waste and destruction",
        [
            "When",
            "Tag",
            "Reason",
            "Quantity",
            "Method",
            "Waste weight (g)",
            "Staff",
            "Witness",
            "Flagged for state",
            "Note",
        ],
        numeric=frozenset({3, 5}),
    )
    for record in (
        WasteRecord.objects.filter(package_id__in=ids)
        .select_related("actor", "witness")
        .order_by("created_at", "id")
    ):
        waste.add(
            [
                _when(record.created_at, store),
                tags[record.package_id],
                REASON_LABELS.get(record.reason, record.reason),
                quantity_text(record.quantity),
                record.get_method_display() if record.method else "",
                quantity_text(record.waste_weight_g) if record.waste_weight_g is not None else "",
                _person(record.actor),
                _person(record.witness),
                "yes" if record.report_to_state else "no",
                record.note,
            ]
        )
    receiving = Table(
        "Receiving",
        ["Manifest", "Shipper", "Tag", "Expected", "Received", "Scanned", "Decision", "Discrepancies"],
        numeric=frozenset({3, 4}),
    )
    lines = (
        TransferLine.objects.filter(transfer__store=store)
        .filter(Q(package_id__in=ids) | Q(tag__in=list(tags.values())))
        .select_related("transfer")
        .prefetch_related("discrepancies")
        .order_by("transfer__created_at", "id")
    )
    for line in lines:
        found = [
            f"{item.get_kind_display()} ({_quantity(item.expected_quantity)} expected, "
            f"{_quantity(item.received_quantity)} received)"
            for item in line.discrepancies.all()
        ]
        receiving.add(
            [
                line.transfer.manifest_number,
                f"{line.transfer.shipper_name} {line.transfer.shipper_license}".strip(),
                line.tag,
                _quantity(line.expected_quantity),
                _quantity(line.received_quantity),
                _when(line.scanned_at, store),
                line.get_decision_display(),
                "; ".join(found),
            ],
            found,
            link=_url("audit_manifest", line.transfer_id),
        )
    counts = Table(
        "Inventory counts",
        [
            "Count",
            "Opened",
            "Status",
            "Approved",
            "Tag",
            "System",
            "Counted",
            "Variance",
            "State",
            "Counted by",
        ],
        numeric=frozenset({5, 6, 7, 8}),
    )
    for line in (
        CountLine.objects.filter(package_id__in=ids)
        .select_related("count", "counted_by")
        .order_by("count__opened_at", "id")
    ):
        variance = line.variance
        counts.add(
            [
                f"#{line.count_id} {line.count}",
                _when(line.count.opened_at, store),
                line.count.get_status_display(),
                _when(line.count.approved_at, store),
                tags[line.package_id],
                quantity_text(line.system_quantity),
                _quantity(line.counted_quantity),
                _quantity(variance),
                _quantity(line.state_quantity),
                _person(line.counted_by),
            ],
            [f"Variance {quantity_text(variance)}"] if variance else None,
        )
    recalls = Table("Recalls", ["Recall", "Opened", "Criterion", "Value", "Reason", "Held", "Tag"])
    for link in (
        Recall.packages.through.objects.filter(package_id__in=ids)
        .select_related("recall")
        .order_by("recall__opened_at", "id")
    ):
        recall = link.recall
        recalls.add(
            [
                f"#{recall.pk}",
                _when(recall.opened_at, store),
                recall.get_criterion_display(),
                recall.value,
                recall.reason,
                _when(recall.held_at, store),
                tags[link.package_id],
            ],
            ["Recalled"],
        )
    return [
        movements,
        waste,
        receiving,
        counts,
        recalls,
        _state_reports(
            store, Q(reference_type="package", reference_id__in=[str(pk) for pk in ids]), tags.values()
        ),
        _audit_table(
            AuditRecord.objects.filter(
                object_type="inventory.package", object_id__in=[str(pk) for pk in ids]
            ),
            store,
        ),
    ]


def _quantity(value) -> str:
    return "" if value is None else quantity_text(value)


def _state_reports(store: Store, condition: Q, tags=()) -> Table:
    """Reports to the state matching `condition`, or naming one of the tags among their order keys."""
    records = SyncRecord.objects.filter(store=store)
    tags = list(tags)
    if tags and connection.vendor == "postgresql":
        # order_keys is a JSON list of labels: containment, which the GIN index on it answers (a store's year
        # holds hundreds of thousands of reports; reading each one's text would scan them all).
        keyed = Q()
        for tag in tags:
            keyed |= Q(order_keys__contains=[tag])
        records = records.filter(condition | keyed)
    elif tags:
        # Elsewhere, the list's text holds each label as "LABEL".
        keyed = Q()
        for tag in tags:
            keyed |= Q(keys_text__contains=f'"{tag}"')
        records = records.annotate(keys_text=Cast("order_keys", TextField())).filter(condition | keyed)
    else:
        records = records.filter(condition)
    table = Table(
        "Reports to the state",
        [
            "#",
            "Created",
            "Kind",
            "Status",
            "Attempts",
            "Sent",
            "Accepted",
            "Reference",
            "State's answer or error",
        ],
        numeric=frozenset({4}),
    )
    # The request objects (a receipt each) are not shown: not read either.
    for record in records.defer("payload", "order_keys").order_by("created_at", "id"):
        flags = []
        if record.status == SyncRecord.Status.FAILED:
            flags.append("Refused by the state")
        elif record.status in (SyncRecord.Status.PENDING, SyncRecord.Status.SENT):
            flags.append("Not yet accepted")
        table.add(
            [
                record.pk,
                _when(record.created_at, store),
                plain_words(record.kind),
                record.get_status_display(),
                record.attempts,
                _when(record.sent_at, store),
                _when(record.accepted_at, store),
                f"{record.reference_type} {record.reference_id}".strip(),
                record.last_error or _json(record.state_answer),
            ],
            flags,
        )
    return table


def _proof_table(proofs, store: Store | None) -> Table:
    """Proofs of delivery (signature, photo, time and place at the door); each row opens the signature or the
    photo through its own view, which logs the read."""
    table = Table(
        "Proof of delivery",
        ["Delivered", "Order", "Customer", "Trip, stop", "Driver", "Signed by", "Photo", "Position"],
    )
    for proof in proofs:
        customer = proof.order.order.customer
        image = "signature" if proof.signature else "photo" if proof.photo else ""
        table.add(
            [
                _when(proof.captured_at, proof.stop.trip.store),
                proof.order.order_id,
                f"{customer.first_name} {customer.last_name}",
                f"Trip {proof.stop.trip_id}, stop {proof.stop.sequence}",
                _person(proof.driver.user),
                proof.signed_name if proof.signature else f"Not signed: {proof.no_signature_reason}",
                "yes" if proof.photo else "no",
                f"{proof.latitude}, {proof.longitude}"
                + (f" (±{proof.accuracy_m} m)" if proof.accuracy_m is not None else "")
                if proof.latitude is not None
                else "",
            ],
            None if proof.signature else ["Not signed"],
            link=reverse("delivery:proof_image", args=[proof.pk, image]) if image else "",
        )
    return table


def _proofs(condition: Q):
    return (
        DeliveryProof.objects.filter(condition)
        .select_related("stop__trip__store", "driver__user", "order__order__customer")
        .order_by("captured_at", "id")
    )


def _audit_table(records, store: Store | None) -> Table:
    table = Table("Audit log", ["When", "Who", "Action", "Object", "Before", "After"])
    for record in records.order_by("created_at", "id"):
        table.add(
            [
                _when(record.created_at, store),
                record.actor_label,
                plain_words(record.action),
                record.object_repr or f"{record.object_type} {record.object_id}",
                _json(record.before),
                _json(record.after),
            ]
        )
    return table


def package_record(*, store: Store, package: Package) -> Document:
    return Document(
        f"Package {package.tag}",
        facts=[
            ("Store", store.name),
            ("Product", package.product.name),
            ("Harvest batch", package.harvest_batch or "—"),
            ("On hand", f"{quantity_text(package.quantity_on_hand)} {package.unit}"),
            ("Status", package.get_status_display()),
        ],
        tables=[_package_table([package], store), *_package_sections([package], store)],
    )


def batch_record(*, store: Store, batch: str) -> Document | None:
    packages = list(
        Package.objects.filter(store=store, harvest_batch=batch).select_related("product").order_by("tag")
    )
    if not packages:
        return None
    return Document(
        f"Harvest batch {batch}",
        facts=[("Store", store.name), ("Packages", str(len(packages)))],
        tables=[_package_table(packages, store), *_package_sections(packages, store)],
    )


def manifest_record(*, store: Store, transfer: IncomingTransfer) -> Document:
    lines = list(transfer.lines.select_related("product", "package__product").order_by("id"))
    table = Table(
        "Manifest lines",
        [
            "Tag",
            "Product",
            "On manifest",
            "Expected",
            "Received",
            "Scanned",
            "Decision",
            "Harvest batch",
            "Lab",
        ],
        numeric=frozenset({3, 4}),
    )
    for line in lines:
        table.add(
            [
                line.tag,
                line.product.name if line.product else "",
                "yes" if line.on_manifest else "no",
                _quantity(line.expected_quantity),
                _quantity(line.received_quantity),
                _when(line.scanned_at, store),
                line.get_decision_display(),
                line.harvest_batch,
                line.get_lab_status_display(),
            ],
            link=_url("audit_package", line.package_id) if line.package_id else "",
        )
    discrepancies = Table(
        "Receiving discrepancies",
        ["Tag", "Kind", "Expected", "Received", "Report to state", "Recorded"],
        numeric=frozenset({2, 3}),
    )
    for item in ReceivingDiscrepancy.objects.filter(transfer=transfer).select_related("line").order_by("id"):
        discrepancies.add(
            [
                item.line.tag,
                item.get_kind_display(),
                _quantity(item.expected_quantity),
                _quantity(item.received_quantity),
                "yes" if item.report_to_state else "no",
                _when(item.created_at, store),
            ],
            [item.get_kind_display()],
        )
    packages = [line.package for line in lines if line.package_id]
    sections = _package_sections(packages, store) if packages else []
    return Document(
        f"Manifest {transfer.manifest_number}",
        facts=[
            ("Store", store.name),
            ("Shipper", f"{transfer.shipper_name} ({transfer.shipper_license})"),
            ("Source", transfer.get_source_display()),
            ("Status", transfer.get_status_display()),
            ("Created", f"{_when(transfer.created_at, store)} by {_person(transfer.created_by) or '—'}"),
            (
                "Completed",
                f"{_when(transfer.completed_at, store) or '—'} by {_person(transfer.completed_by) or '—'}",
            ),
        ],
        tables=[table, discrepancies, *([_package_table(packages, store)] if packages else []), *sections],
        notices=["Delivery manifests join this search once the delivery app records them."],
    )


# --- Patients -------------------------------------------------------------------------------------------------


def patient_record(*, customer: Customer, actor, store: Store | None) -> Document:
    """A customer's complete record. Viewing it is logged before it is read, so the log shows this view too."""
    customer_record_viewed(customer=customer, actor=actor, store=store, via="audit_center")
    registration = (
        PatientRegistration.objects.filter(customer=customer).prefetch_related("recommendations").first()
    )
    facts = [
        ("Name", f"{customer.first_name} {customer.last_name}"),
        ("Phone", phone_display(customer.phone)),
        ("Date of birth", f"{customer.date_of_birth:%Y-%m-%d}" if customer.date_of_birth else "—"),
        ("Customer type", customer.get_customer_type_display()),
        ("Email", customer.email or "—"),
        (
            "Address",
            ", ".join(part for part in (customer.city, customer.region, customer.postal_code) if part) or "—",
        ),
        ("Customer since", _when(customer.created_at, store)),
    ]
    card = Table("Medical card", ["Card", "State", "Issued", "Expires", "Qualifying conditions"])
    recommendations = Table(
        "Recommendations", ["Physician", "Licence", "Issued", "Expires", "Allowed amounts"]
    )
    today = timezone.localdate(timezone=store.tz) if store else timezone.localdate()
    if registration is not None:
        expired = registration.expires_on < today
        card.add(
            [
                registration.card_number,
                registration.state,
                f"{registration.issued_on:%Y-%m-%d}" if registration.issued_on else "",
                f"{registration.expires_on:%Y-%m-%d}",
                ", ".join(str(item) for item in registration.qualifying_conditions or []),
            ],
            ["Expired"] if expired else None,
        )
        for item in registration.recommendations.all():
            recommendations.add(
                [
                    item.physician_name,
                    item.physician_license,
                    f"{item.issued_on:%Y-%m-%d}",
                    f"{item.expires_on:%Y-%m-%d}",
                    _json(item.allowed_amounts),
                ],
                ["Expired"] if item.expires_on < today else None,
            )
    caregivers = Table(
        "Caregivers and patients cared for", ["Relation", "Name", "Phone", "Caregiver card", "Expires"]
    )
    for link in (
        CaregiverLink.objects.filter(Q(patient=customer) | Q(caregiver=customer))
        .select_related("caregiver", "patient")
        .order_by("id")
    ):
        other, relation = (
            (link.caregiver, "Caregiver")
            if link.patient_id == customer.pk
            else (link.patient, "Patient cared for")
        )
        caregivers.add(
            [
                relation,
                f"{other.first_name} {other.last_name}",
                phone_display(other.phone),
                link.caregiver_card_number,
                f"{link.expires_on:%Y-%m-%d}" if link.expires_on else "",
            ],
            link=_url("audit_patient", other.pk),
        )
    checks = Table(
        "ID checks",
        ["When", "Store", "Staff", "Method", "Issuing state", "ID expires", "Age", "Result", "Problems"],
    )
    for check in (
        IdVerification.objects.filter(customer=customer)
        .select_related("store", "staff")
        .order_by("created_at", "id")
    ):
        checks.add(
            [
                _when(check.created_at, check.store),
                check.store.name,
                _person(check.staff),
                check.get_method_display(),
                check.issuing_state,
                f"{check.expires_on:%Y-%m-%d}" if check.expires_on else "",
                check.age,
                "passed" if check.passed else "refused",
                "; ".join(str(problem) for problem in check.problems or []),
            ],
            None if check.passed else ["Refused"],
        )
    alerts = Table("Looping alerts", ["Day", "First store", "Then", "Acknowledged", "By", "Note"])
    for alert in (
        LoopingAlert.objects.filter(Q(verification__customer=customer) | Q(earlier__customer=customer))
        .select_related("verification__store", "earlier__store", "acknowledged_by")
        .order_by("created_at", "id")
    ):
        alerts.add(
            [
                f"{alert.local_date:%Y-%m-%d}",
                f"{alert.earlier.store.name} {_when(alert.earlier.created_at, alert.earlier.store)}",
                f"{alert.verification.store.name} {_when(alert.verification.created_at, alert.verification.store)}",
                _when(alert.acknowledged_at, store),
                _person(alert.acknowledged_by),
                alert.note,
            ],
            ["Same ID at two stores on one day"],
        )
    audit = Q(object_type="dispensary.customer", object_id=str(customer.pk))
    if registration is not None:
        audit |= Q(object_type="compliance.patientregistration", object_id=str(registration.pk))
    sales = purchase_history_table(customer)
    return Document(
        f"Customer record: {customer.first_name} {customer.last_name}",
        facts=facts,
        tables=[
            card,
            recommendations,
            caregivers,
            checks,
            alerts,
            sales,
            _proof_table(_proofs(Q(order__order__customer=customer)), store),
            _audit_table(AuditRecord.objects.filter(organization=customer.organization).filter(audit), store),
        ],
    )


# --- A day at the store --------------------------------------------------------------------------------------


def day_record(*, store: Store, day: dt.date) -> Document:
    start, end = store_local_day_bounds(store, day)
    movements = Table(
        "Stock movements",
        ["When", "Tag", "Product", "Kind", "Quantity", "By", "Reason", "Reference"],
        numeric=frozenset({4}),
    )
    for movement in (
        StockMovement.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
        .select_related("package__product")
        .order_by("created_at", "id")
    ):
        movements.add(
            [
                _when(movement.created_at, store),
                movement.package.tag,
                movement.package.product.name,
                movement.get_kind_display(),
                quantity_text(movement.quantity),
                movement.actor_label,
                REASON_LABELS.get(movement.reason, movement.reason),
                f"{movement.reference_type} {movement.reference_id}".strip(),
            ],
            link=_url("audit_package", movement.package_id),
        )
    waste = Table(
        "Waste and destruction",
        [
            "When",
            "Tag",
            "Reason",
            "Quantity",
            "Method",
            "Waste weight (g)",
            "Staff",
            "Witness",
            "Flagged for state",
        ],
        numeric=frozenset({3, 5}),
    )
    for record in (
        WasteRecord.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
        .select_related("package", "actor", "witness")
        .order_by("created_at", "id")
    ):
        waste.add(
            [
                _when(record.created_at, store),
                record.package.tag,
                REASON_LABELS.get(record.reason, record.reason),
                quantity_text(record.quantity),
                record.get_method_display() if record.method else "",
                quantity_text(record.waste_weight_g) if record.waste_weight_g is not None else "",
                _person(record.actor),
                _person(record.witness),
                "yes" if record.report_to_state else "no",
            ],
            link=_url("audit_package", record.package_id),
        )
    checks = Table("ID checks", ["When", "Customer", "Staff", "Method", "Age", "Result", "Problems"])
    for check in (
        IdVerification.objects.filter(store=store, local_date=day)
        .select_related("customer", "staff")
        .order_by("created_at", "id")
    ):
        checks.add(
            [
                _when(check.created_at, store),
                f"{check.customer.first_name} {check.customer.last_name}"
                if check.customer
                else "(not on file)",
                _person(check.staff),
                check.get_method_display(),
                check.age,
                "passed" if check.passed else "refused",
                "; ".join(str(problem) for problem in check.problems or []),
            ],
            None if check.passed else ["Refused"],
            link=_url("audit_patient", check.customer_id) if check.customer_id else "",
        )
    return Document(
        f"{store.name} on {day:%A, %B %-d, %Y}",
        facts=[("Store", store.name), ("Day", f"{day:%Y-%m-%d} ({store.time_zone})")],
        tables=[
            movements,
            waste,
            _state_reports(store, Q(created_at__gte=start, created_at__lt=end)),
            checks,
            _proof_table(
                _proofs(Q(stop__trip__store=store, captured_at__gte=start, captured_at__lt=end)), store
            ),
        ],
    )
