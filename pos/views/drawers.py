"""Cash drawer screens: the store's registers with their drawer state and an open form, one drawer session
with its drops, paid in and paid out and the blind close, and the managers' over/short history.

The close is blind: whoever counts the drawer types the total without seeing what it should hold. Only people
who approve refunds (managers) see the expected figure of an open drawer."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from pos.errors import DrawerNotOpen
from pos.forms import DrawerCloseForm, DrawerHistoryFilterForm, DrawerMovementForm, DrawerOpenForm
from pos.models import DrawerMovement, DrawerSession
from pos.selectors.drawers import (
    drawer_expected,
    drawer_history_list,
    drawer_session_get,
    register_drawer_list,
)
from pos.services.drawers import drawer_close, drawer_movement_add, drawer_open

MANAGE = "pos.manage_drawer"
SEE_EXPECTED = "pos.approve_refund"
HISTORY_PAGE_SIZE = 50


def _index_response(request, *, open_form: DrawerOpenForm | None = None, registers=None):
    registers = registers if registers is not None else register_drawer_list(store=request.store)
    open_form = open_form or DrawerOpenForm(store=request.store, registers=registers)
    return render(
        request,
        "pos/drawers/index.html",
        {
            "registers": registers,
            "open_form": open_form,
            "any_closed": any(register.open_session is None for register in registers),
        },
    )


@staff_view(MANAGE)
def drawer_index(request):
    return _index_response(request)


@require_POST
@staff_view(MANAGE)
def drawer_open_view(request):
    form = DrawerOpenForm(request.POST, store=request.store)
    if form.is_valid():
        try:
            session = drawer_open(
                register=form.cleaned_data["register"],
                staff=request.user,
                opening_amount=form.cleaned_data["opening_amount"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"Opened the drawer of {session.register.name} with ${session.opening_amount}."
            )
            return redirect("pos:drawer_session", pk=session.pk)
    return _index_response(request, open_form=form)


def _store_session(request, pk: int) -> DrawerSession:
    session = drawer_session_get(store=request.store, session_id=pk)
    if session is None:
        raise Http404("No such drawer session at this store.")
    return session


MOVEMENT_TITLES = {
    DrawerMovement.Kind.DROP: "Cash drop",
    DrawerMovement.Kind.PAID_IN: "Paid in",
    DrawerMovement.Kind.PAID_OUT: "Paid out",
}


def _movement_form(request, kind: str, data=None) -> DrawerMovementForm:
    return DrawerMovementForm(data, store=request.store, user=request.user, kind=kind, prefix=kind)


def _session_response(request, session: DrawerSession, *, movement_form=None, close_form=None):
    is_open = session.status == DrawerSession.Status.OPEN
    context = {
        "session": session,
        "movements": list(session.movements.all()),
        "is_open": is_open,
        "sees_expected": request.user.has_perm(SEE_EXPECTED),
        "expected": None,
        "open_panel": None,
    }
    if is_open:
        if context["sees_expected"]:
            context["expected"] = drawer_expected(session=session)
        forms = []
        for kind in (DrawerMovement.Kind.DROP, DrawerMovement.Kind.PAID_IN, DrawerMovement.Kind.PAID_OUT):
            form = movement_form if movement_form is not None and movement_form.kind == kind else None
            forms.append(
                {"kind": kind, "title": MOVEMENT_TITLES[kind], "form": form or _movement_form(request, kind)}
            )
        context["movement_forms"] = forms
        context["close_form"] = close_form or DrawerCloseForm(auto_id="close_%s")
        if movement_form is not None:
            context["open_panel"] = movement_form.kind
        elif close_form is not None:
            context["open_panel"] = "close"
    return render(request, "pos/drawers/session.html", context)


@staff_view(MANAGE)
def drawer_session(request, pk: int):
    return _session_response(request, _store_session(request, pk))


@require_POST
@staff_view(MANAGE)
def drawer_movement_view(request, pk: int):
    session = _store_session(request, pk)
    kind = request.POST.get("kind", "")
    if kind not in DrawerMovement.Kind.values:
        messages.error(request, "Choose a cash drop, paid in or paid out.")
        return redirect("pos:drawer_session", pk=session.pk)
    form = _movement_form(request, kind, request.POST)
    if form.is_valid():
        try:
            movement = drawer_movement_add(
                session=session,
                kind=kind,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                approver=form.approver,
            )
        except DrawerNotOpen as error:
            messages.error(request, error.message)
            return redirect("pos:drawer_session", pk=session.pk)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{MOVEMENT_TITLES[kind]} of ${movement.amount} recorded.")
            return redirect("pos:drawer_session", pk=session.pk)
    return _session_response(request, session, movement_form=form)


@require_POST
@staff_view(MANAGE)
def drawer_close_view(request, pk: int):
    session = _store_session(request, pk)
    form = DrawerCloseForm(request.POST, auto_id="close_%s")
    if form.is_valid():
        try:
            drawer_close(
                session=session,
                counted_amount=form.cleaned_data["counted_amount"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except DrawerNotOpen as error:
            messages.error(request, error.message)
            return redirect("pos:drawer_session", pk=session.pk)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Closed the drawer of {session.register.name}.")
            return redirect("pos:drawer_session", pk=session.pk)
    return _session_response(request, session, close_form=form)


@staff_view(MANAGE, SEE_EXPECTED)
def drawer_history(request):
    form = DrawerHistoryFilterForm(request.GET or None, store=request.store)
    register = form.cleaned_data.get("register") if form.is_valid() else None
    sessions = drawer_history_list(store=request.store, register_id=register.pk if register else None)
    page = Paginator(sessions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pos/drawers/history.html",
        {"page": page, "form": form, "register": register},
    )
