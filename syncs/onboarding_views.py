"""The practice's setup page behind an onboarding link (no sign-in: the signed, single-use link is the credential).
It offers only the practice-side step the sync waits for: install with the product key, enter the cloud
system's credentials, or book the engineer's installation."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from portal.audit import client_ip
from syncs import scheduling, services
from syncs.forms import credentials_form_class
from syncs.onboardings import LinkInvalid, onboarding_book_slot, onboarding_for_token, onboarding_submit_credentials, practice_step


@require_http_methods(["GET", "POST"])
def onboarding_practice(request, token: str):
    try:
        onboarding = onboarding_for_token(token)
    except LinkInvalid as error:
        return render(request, "institutions/consent_invalid.html", {"error": error}, status=410)
    sync = onboarding.sync
    step = practice_step(sync)
    context = {"onboarding": onboarding, "sync": sync, "institution": sync.institution, "step": step}
    form_class = credentials_form_class(sync.catalog_entry) if step == "credentials" else None
    form = form_class(request.POST or None) if form_class else None
    error = ""
    if request.method == "POST":
        try:
            if step == "credentials" and form.is_valid():
                onboarding_submit_credentials(onboarding=onboarding, credentials=form.cleaned_data, ip=client_ip(request))
                return render(request, "syncs/onboarding_done.html", context)
            if step == "schedule":
                onboarding_book_slot(onboarding=onboarding, slot_id=int(request.POST.get("slot") or 0), ip=client_ip(request))
                return render(request, "syncs/onboarding_done.html", context)
        except LinkInvalid as invalid:
            return render(request, "institutions/consent_invalid.html", {"error": invalid}, status=409)
        except (ValidationError, ValueError) as refused:
            error = " ".join(getattr(refused, "messages", [str(refused)]))
    if step == "install":
        context["product_key"] = services.product_key_of(sync)
    if step == "schedule":
        tz = sync.institution.zone
        context["days"] = scheduling.slots_by_day(list(scheduling.open_slots()[:60]), tz)
    return render(request, "syncs/onboarding_practice.html", {**context, "form": form, "error": error},
                  status=400 if error or (form is not None and form.errors) else 200)
