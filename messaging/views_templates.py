"""Managers' message templates (/messaging/templates/): the wordings of their organization (defaults) and of
their stores, with a live preview for a sample customer showing what a text costs (characters, parts, GSM-7 or
UCS-2). Another organization's templates, and those of stores the member does not work at, are 404."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm
from dispensary.views.access import staff_view
from messaging.models import Category, Channel, MessageTemplate
from messaging.rendering import (
    KINDS,
    allowed_variables,
    opt_out_line_add,
    render_text,
    sample_variables,
    sms_count,
    sms_tidy,
    unknown_variables,
)
from messaging.services_templates import message_template_save

CHANGE = "messaging.change_messagetemplate"
ADD = "messaging.add_messagetemplate"


def can_edit_templates(user) -> bool:
    return user.is_superuser or user.has_perm(CHANGE)


def _stores(request) -> list:
    organization_id = request.organization.pk if request.organization else None
    return [store for store in request.accessible_stores if store.organization_id == organization_id]


class TemplateForm(ApplicationErrorForm):
    key = forms.CharField(
        max_length=60,
        label="Message",
        help_text="One of the listed kinds (pickup_ready, points_earned, ...), or a name of your own for marketing.",
        widget=forms.TextInput(attrs={"list": "template-keys", "autocomplete": "off"}),
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.SMS)
    language = forms.CharField(max_length=8, initial="en", help_text='"en", "es", ...')
    category = forms.ChoiceField(choices=Category.choices, initial=Category.TRANSACTIONAL)
    store = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, help_text="Empty: every store of the organization."
    )
    subject = forms.CharField(max_length=200, required=False, help_text="Emails only.")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=5000, label="Words")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = {store.pk: store for store in stores}
        self.fields["store"].choices = [("", "Organization default (every store)")] + [
            (store.pk, store.name) for store in stores
        ]


def _form_initial(template: MessageTemplate) -> dict:
    return {
        "key": template.key,
        "channel": template.channel,
        "language": template.language,
        "category": template.category,
        "store": template.store_id or "",
        "subject": template.subject,
        "body": template.body,
        "active": template.active,
    }


def preview_of(*, key: str, channel: str, category: str, subject: str, body: str, store) -> dict:
    """What the preview shows: the words for the sample customer, and for a text its cost."""
    values = sample_variables(store)
    rendered_body = render_text(body, values).strip()
    if channel == Channel.SMS:
        rendered_body = sms_tidy(rendered_body)
        if category == Category.MARKETING:
            rendered_body = opt_out_line_add(rendered_body)
    unknown = sorted(set(unknown_variables(body, key)) | set(unknown_variables(subject, key)))
    return {
        "channel": channel,
        "subject": " ".join(render_text(subject, values).split()) if channel == Channel.EMAIL else "",
        "body": rendered_body,
        "count": sms_count(rendered_body) if channel == Channel.SMS else None,
        "unknown": unknown,
        "allowed": allowed_variables(key),
    }


def _template(request, pk: int) -> MessageTemplate:
    template = (
        MessageTemplate.objects.filter(pk=pk, organization=request.organization)
        .select_related("store")
        .first()
    )
    stores = {store.pk for store in _stores(request)}
    if template is None or (template.store_id is not None and template.store_id not in stores):
        raise Http404("No such template.")
    return template


@staff_view(CHANGE)
def template_index(request):
    stores = _stores(request)
    templates = list(MessageTemplate.objects.filter(organization=request.organization))
    allowed = {store.pk for store in stores}
    names = {store.pk: store.name for store in stores}
    rows = [
        {
            "template": template,
            "store_name": names.get(template.store_id, "Organization default"),
            "label": KINDS[template.key].label if template.key in KINDS else template.key,
        }
        for template in templates
        if template.store_id is None or template.store_id in allowed
    ]
    customised = {row["template"].key for row in rows}
    kinds = [{"kind": kind, "customised": kind.key in customised} for kind in KINDS.values()]
    return render(
        request,
        "messaging/templates/index.html",
        {"rows": rows, "kinds": kinds, "can_add": request.user.has_perm(ADD)},
    )


def _edit(request, template: MessageTemplate | None):
    stores = _stores(request)
    if request.method == "POST":
        form = TemplateForm(request.POST, stores=stores)
        if form.is_valid():
            data = form.cleaned_data
            store = form.stores.get(data["store"]) if data["store"] else None
            try:
                saved = message_template_save(
                    organization=request.organization,
                    actor=request.user,
                    template=template,
                    store=store,
                    key=data["key"],
                    channel=data["channel"],
                    language=data["language"],
                    category=data["category"],
                    subject=data["subject"],
                    body=data["body"],
                    active=data["active"],
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, f"Template {saved.key} ({saved.get_channel_display()}) saved.")
                return redirect("messaging:template_index")
        status = 400
    else:
        initial = _form_initial(template) if template is not None else {}
        key = request.GET.get("key", "")
        if template is None and key in KINDS:
            kind = KINDS[key]
            channel = (
                request.GET.get("channel") if request.GET.get("channel") in Channel.values else Channel.SMS
            )
            initial = {
                "key": key,
                "channel": channel,
                "body": kind.sms if channel == Channel.SMS else kind.email,
                "subject": "" if channel == Channel.SMS else kind.subject,
            }
        form = TemplateForm(initial=initial, stores=stores)
        status = 200
    values = {name: form[name].value() or "" for name in ("key", "channel", "category", "subject", "body")}
    store_id = form["store"].value()
    store = next((store for store in stores if str(store.pk) == str(store_id)), None)
    context = {
        "form": form,
        "template": template,
        "kinds": KINDS.values(),
        "preview": preview_of(store=store, **values),
    }
    return render(request, "messaging/templates/form.html", context, status=status)


@staff_view(ADD, CHANGE)
def template_create(request):
    return _edit(request, None)


@staff_view(CHANGE)
def template_edit(request, pk: int):
    return _edit(request, _template(request, pk))


@require_POST
@staff_view(CHANGE)
def template_preview(request):
    """The preview fragment (HTMX): what the words in the form say for a sample customer."""
    stores = _stores(request)
    store_id = request.POST.get("store", "")
    store = next((store for store in stores if str(store.pk) == store_id), None)
    channel = request.POST.get("channel", Channel.SMS)
    category = request.POST.get("category", Category.TRANSACTIONAL)
    preview = preview_of(
        key=request.POST.get("key", "")[:60],
        channel=channel if channel in Channel.values else Channel.SMS,
        category=category if category in Category.values else Category.TRANSACTIONAL,
        subject=request.POST.get("subject", "")[:200],
        body=request.POST.get("body", "")[:5000],
        store=store,
    )
    return render(request, "messaging/templates/_preview.html", {"preview": preview})
