"""The flow editor (/messaging/flows/): the organization's flows with their trigger in words, status switches
and counts; a flow's page with its steps as an indented tree and the counts of each step; forms for the flow's
settings and for each kind of step; a preview of a send step for a sample customer. Owners and managers only;
another organization's flow is 404. Every write goes through messaging.services_flow_editor (audited)."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from messaging.forms_flows import (
    STEP_FORMS,
    ConditionFormSet,
    CouponForm,
    FlowSettingsForm,
    NewFlowForm,
    condition_initial,
)
from messaging.models import Category, Channel, Flow, FlowStep, FlowStepRun
from messaging.rendering import opt_out_line_add, render_text, sample_variables, sms_count, sms_tidy
from messaging.services_flow_editor import (
    SEND_KINDS,
    STATUS_WORDS,
    branch_words,
    flow_create_blank,
    flow_list,
    flow_settings_save,
    flow_status_set,
    flow_step_add,
    flow_step_delete,
    flow_step_move,
    flow_step_save,
    flow_view,
    step_branches,
    step_subtree_ids,
    step_words,
)

VIEW = "messaging.view_flow"
CHANGE = "messaging.change_flow"
ADD = "messaging.add_flow"

# The ready-made flows offered on the list (messaging.flow_library makes them: flow_create_from_library).
READY_MADE = {
    "welcome": ("Welcome series", "New customers: a hello, then what the store offers."),
    "post_purchase": ("Post-purchase thank-you", "A thank-you with a one-question rating after a purchase."),
    "winback": (
        "Win-back",
        "Day 30, 37, 45 and 60 without a purchase, with branches for opens and purchases.",
    ),
    "birthday": ("Birthday", "A birthday text with a coupon, at 10:00 store time."),
    "vip": ("VIP", "On reaching a loyalty tier or a spend threshold."),
    "abandoned_cart": ("Abandoned cart", "A reminder when a cart is left without buying."),
    "reorder": ("Reorder reminder", "At each customer's usual repurchase interval per category."),
    "medical_card": ("Medical card expiring", "A reminder before a patient's card expires."),
}
KIND_HELP = {
    FlowStep.Kind.DELAY: "Wait some days or hours, or until the next day at a time.",
    FlowStep.Kind.CONDITION: "Two branches: those who opened, clicked or bought, and the others.",
    FlowStep.Kind.AB_SPLIT: "Two variants on shares, with a winner chosen by a rule.",
    FlowStep.Kind.SEND_SMS: "A marketing text (consent, quiet hours and caps are checked when it is sent).",
    FlowStep.Kind.SEND_EMAIL: "A marketing email.",
    FlowStep.Kind.COUPON: "A personal single-use code for a promotion.",
    FlowStep.Kind.POINTS: "Loyalty points added to their balance.",
    FlowStep.Kind.PROFILE: "Set a field of their profile.",
    FlowStep.Kind.WEBHOOK: "Call an https address of another system.",
    FlowStep.Kind.ALERT_STAFF: "A note to the store's staff.",
    FlowStep.Kind.EXIT: "End the flow here (and optionally stop marketing to them).",
}


def can_manage_flows(user) -> bool:
    return user.is_superuser or user.has_perm(CHANGE)


def _flow(request, pk: int) -> Flow:
    flow = (
        Flow.objects.filter(pk=pk, organization=request.organization).select_related("organization").first()
    )
    if flow is None:
        raise Http404("No such flow.")
    return flow


def _step(flow: Flow, pk) -> FlowStep:
    try:
        step = FlowStep.objects.filter(pk=int(pk), flow=flow).first()
    except (TypeError, ValueError):
        step = None
    if step is None:
        raise Http404("No such step.")
    step.flow = flow
    return step


def _stores(request) -> list:
    organization_id = request.organization.pk if request.organization else None
    return [store for store in request.accessible_stores if store.organization_id == organization_id]


def _promotions(flow: Flow) -> list:
    from pos.models import Promotion

    return list(
        Promotion.objects.filter(organization_id=flow.organization_id, active=True).order_by("name", "id")
    )


@staff_view(VIEW, allow=can_manage_flows)
def flow_index(request):
    rows = flow_list(organization=request.organization)
    return render(
        request,
        "messaging/flows/index.html",
        {
            "rows": rows,
            "status_words": STATUS_WORDS,
            "ready_made": READY_MADE.items(),
            "new_form": NewFlowForm(),
            "can_add": request.user.has_perm(ADD),
        },
    )


@require_POST
@staff_view(ADD, CHANGE)
def flow_create(request):
    form = NewFlowForm(request.POST)
    if form.is_valid():
        try:
            flow = flow_create_blank(
                organization=request.organization, name=form.cleaned_data["name"], actor=request.user
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"Flow “{flow.name}” created as a draft: choose its trigger and add steps."
            )
            return redirect("messaging:flow_detail", pk=flow.pk)
    else:
        messages.error(request, "Give the new flow a name.")
    return redirect("messaging:flows")


@require_POST
@staff_view(ADD, CHANGE)
def flow_create_ready_made(request):
    key = request.POST.get("key", "")
    if key not in READY_MADE:
        messages.error(request, "Choose one of the ready-made flows.")
        return redirect("messaging:flows")
    # The ready-made flows are written by the flow library (the engine's module).
    from messaging.flow_library import flow_create_from_library

    try:
        flow = flow_create_from_library(organization=request.organization, key=key, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("messaging:flows")
    messages.success(request, f"Flow “{flow.name}” created as a draft: check its steps, then switch it on.")
    return redirect("messaging:flow_detail", pk=flow.pk)


@require_POST
@staff_view(CHANGE)
def flow_status(request, pk: int):
    flow = _flow(request, pk)
    status = request.POST.get("status", "")
    try:
        flow = flow_status_set(flow=flow, status=status, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        words = {"live": "is live", "paused": "is paused", "draft": "is back to draft"}
        messages.success(request, f"“{flow.name}” {words.get(flow.status, flow.status)}.")
    target = request.POST.get("next")
    if target == "detail":
        return redirect("messaging:flow_detail", pk=flow.pk)
    return redirect("messaging:flows")


@staff_view(VIEW, allow=can_manage_flows)
def flow_detail(request, pk: int):
    flow = _flow(request, pk)
    view = flow_view(flow=flow)
    return render(
        request,
        "messaging/flows/detail.html",
        {"view": view, "flow": flow, "status_words": STATUS_WORDS, "live": flow.status == Flow.Status.LIVE},
    )


def _filters_initial(flow: Flow) -> list[dict]:
    return [condition_initial(condition) for condition in flow.filters or [] if isinstance(condition, dict)]


@staff_view(CHANGE)
def flow_settings(request, pk: int):
    flow = _flow(request, pk)
    stores = _stores(request)
    status = 200
    if request.method == "POST":
        form = FlowSettingsForm(request.POST, flow=flow, stores=stores)
        filters = ConditionFormSet(request.POST, prefix="filters")
        if form.is_valid() and filters.is_valid():
            data = form.cleaned_data
            visible = {store.pk for store in stores}
            try:
                flow_settings_save(
                    flow=flow,
                    actor=request.user,
                    name=data["name"],
                    description=data["description"],
                    trigger=data["trigger"],
                    filters=[row["condition"] for row in filters.cleaned_data if row.get("condition")],
                    filter_match=data["filter_match"],
                    goal=data["goal"] or "",
                    reentry=data["reentry"],
                    reentry_days=data.get("reentry_days"),
                    stores=data["store_rows"],
                    kept_store_ids=[
                        pk for pk in flow.stores.values_list("pk", flat=True) if pk not in visible
                    ],
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, "The flow's settings are saved.")
                return redirect("messaging:flow_detail", pk=flow.pk)
        status = 400
    else:
        form = FlowSettingsForm(initial=FlowSettingsForm.initial_for(flow), flow=flow, stores=stores)
        filters = ConditionFormSet(initial=_filters_initial(flow), prefix="filters")
    return render(
        request,
        "messaging/flows/settings.html",
        {"flow": flow, "form": form, "filters": filters},
        status=status,
    )


def _step_form(kind: str, flow: Flow, *args, **kwargs):
    form_class = STEP_FORMS[kind]
    if form_class is CouponForm:
        kwargs["promotions"] = _promotions(flow)
    return form_class(*args, **kwargs)


def send_preview(*, kind: str, subject: str, body: str, store) -> dict:
    """A send step's words for a sample customer, and for a text what it costs."""
    values = sample_variables(store)
    text = render_text(body, values).strip()
    if kind == FlowStep.Kind.SEND_SMS:
        text = opt_out_line_add(sms_tidy(text))
    return {
        "channel": Channel.SMS if kind == FlowStep.Kind.SEND_SMS else Channel.EMAIL,
        "category": Category.MARKETING,
        "subject": " ".join(render_text(subject, values).split()) if kind == FlowStep.Kind.SEND_EMAIL else "",
        "body": text,
        "count": sms_count(text) if kind == FlowStep.Kind.SEND_SMS else None,
    }


def _current_store(request):
    store = request.store or None
    return store if store else None


def _placement(request, flow: Flow) -> dict:
    """Where a new step goes: after a step, at the end of a split's branch, or at the end of the top level."""
    source = request.POST if request.method == "POST" else request.GET
    if source.get("after"):
        after = _step(flow, source["after"])
        return {
            "after": after,
            "words": f"after “{after.name or step_words(after)}”",
            "query": f"after={after.pk}",
        }
    if source.get("parent"):
        parent = _step(flow, source["parent"])
        branch = source.get("branch", "")
        if branch not in step_branches(parent):
            raise Http404("No such branch.")
        return {
            "parent": parent,
            "branch": branch,
            "words": f"in the branch “{branch_words(parent, branch)}”",
            "query": f"parent={parent.pk}&branch={branch}",
        }
    return {"words": "at the end of the flow", "query": ""}


@staff_view(CHANGE)
def step_add(request, pk: int):
    flow = _flow(request, pk)
    place = _placement(request, flow)
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("kind", "")
    if kind not in STEP_FORMS:
        kinds = [(value, label, KIND_HELP[value]) for value, label in FlowStep.Kind.choices]
        return render(
            request, "messaging/flows/step_kind.html", {"flow": flow, "place": place, "kinds": kinds}
        )
    status = 200
    if request.method == "POST":
        form = _step_form(kind, flow, request.POST)
        if form.is_valid():
            try:
                flow_step_add(
                    flow=flow,
                    actor=request.user,
                    kind=kind,
                    config=form.config(),
                    name=form.cleaned_data.get("name", ""),
                    after=place.get("after"),
                    parent=place.get("parent"),
                    branch=place.get("branch", ""),
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, f"Step added {place['words']}.")
                return redirect("messaging:flow_detail", pk=flow.pk)
        status = 400
    else:
        form = _step_form(kind, flow)
    return _step_page(request, flow, form, kind=kind, step=None, place=place, status=status)


def _step_page(request, flow, form, *, kind, step, place=None, status=200):
    preview = None
    if kind in SEND_KINDS:
        preview = send_preview(
            kind=kind,
            subject=str(form["subject"].value() or "") if "subject" in form.fields else "",
            body=str(form["body"].value() or ""),
            store=_current_store(request),
        )
    return render(
        request,
        "messaging/flows/step_form.html",
        {
            "flow": flow,
            "form": form,
            "kind": kind,
            "kind_label": FlowStep.Kind(kind).label,
            "step": step,
            "place": place,
            "preview": preview,
            "live": flow.status == Flow.Status.LIVE,
        },
        status=status,
    )


@staff_view(CHANGE)
def step_edit(request, pk: int, step_id: int):
    flow = _flow(request, pk)
    step = _step(flow, step_id)
    status = 200
    if request.method == "POST":
        form = _step_form(step.kind, flow, request.POST)
        if form.is_valid():
            try:
                flow_step_save(
                    step=step,
                    actor=request.user,
                    name=form.cleaned_data.get("name", ""),
                    config=form.config_merged(step.config if isinstance(step.config, dict) else {}),
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, "Step saved.")
                return redirect(reverse("messaging:flow_detail", args=[flow.pk]) + f"#step-{step.pk}")
        status = 400
    else:
        form = _step_form(step.kind, flow, initial=STEP_FORMS[step.kind].initial_for(step))
    return _step_page(request, flow, form, kind=step.kind, step=step, status=status)


@require_POST
@staff_view(CHANGE)
def step_preview(request, pk: int):
    """The live preview of a send step's form (HTMX): the words for a sample customer and the text's cost."""
    _flow(request, pk)
    kind = request.POST.get("kind", "")
    if kind not in SEND_KINDS:
        kind = FlowStep.Kind.SEND_SMS
    preview = send_preview(
        kind=kind,
        subject=request.POST.get("subject", "")[:200],
        body=request.POST.get("body", "")[:20000],
        store=_current_store(request),
    )
    return render(request, "messaging/flows/_preview.html", {"preview": preview})


@staff_view(CHANGE)
def step_delete(request, pk: int, step_id: int):
    flow = _flow(request, pk)
    step = _step(flow, step_id)
    ids = step_subtree_ids(step)
    has_runs = FlowStepRun.objects.filter(step_id__in=ids).exists()
    if request.method == "POST":
        try:
            with transaction.atomic():
                deleted = flow_step_delete(step=step, actor=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(reverse("messaging:flow_detail", args=[flow.pk]) + f"#step-{step.pk}")
        messages.success(request, f"{deleted} step{'' if deleted == 1 else 's'} deleted.")
        return redirect("messaging:flow_detail", pk=flow.pk)
    return render(
        request,
        "messaging/flows/step_delete.html",
        {
            "flow": flow,
            "step": step,
            "words": step_words(step),
            "under": len(ids) - 1,
            "has_runs": has_runs,
        },
    )


@require_POST
@staff_view(CHANGE)
def step_move(request, pk: int, step_id: int):
    flow = _flow(request, pk)
    step = _step(flow, step_id)
    try:
        flow_step_move(step=step, actor=request.user, direction=request.POST.get("direction", ""))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(reverse("messaging:flow_detail", args=[flow.pk]) + f"#step-{step.pk}")
