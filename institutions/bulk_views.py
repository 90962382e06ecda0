"""Upload CSV: sample, upload (the check runs in a Celery task), preview, confirm, progress of the check and the
import (htmx), result and result CSV."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from institutions import bulk
from institutions.models import BulkUpload, BulkUploadRow
from portal.audit import client_ip
from portal.permissions import permission_required
from syncs.catalog import SYNC_OPTIONS

ROWS_PER_PAGE = 50
WORKING = (BulkUpload.Status.UPLOADED, BulkUpload.Status.IMPORTING)  # a worker checks or imports: the bar polls
FILTERS = {"problems": "Errors", "matches": "Already live", "ready": "Ready", "all": "All rows"}
COLUMN_NOTES = [
    ("institution_name", True, "The practice, or for a multi-location group (DSO/MSO) its parent organization."),
    ("street_address", True, ""), ("street_address_2", False, "Suite, unit."), ("city", True, ""),
    ("state", True, "Two letters, like TX. Also sets the practice's time zone."),
    ("zip_code", True, "5 digits, like 78701 (format the column as text to keep leading zeros)."),
    ("phone_number", True, "A 10-digit US number, like (512) 555-0100."),
    ("email", False, "The practice's email."), ("website", False, "Like https://smiles.example.com."),
    ("contact_name", True, "Who at the practice (or its IT) we coordinate the installation with."),
    ("contact_email", True, ""), ("is_parent_organization", False, "yes or no (empty means no)."),
    ("emr_name", True, "The health record system: one of the names below."),
]


def _organization_upload(request, public_id) -> BulkUpload:
    return get_object_or_404(BulkUpload.objects.select_related("uploaded_by", "confirmed_by", "organization"),
                             public_id=public_id, organization=request.membership.organization)


def _can_upload(membership) -> bool:
    return not membership.in_test_mode


@permission_required("institution.upload")
@require_GET
def bulk_sample(request):
    response = HttpResponse(bulk.sample_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chairside-institutions-sample.csv"'
    return response


@permission_required("institution.upload")
@require_http_methods(["GET", "POST"])
def bulk_upload(request):
    membership = request.membership
    error, status = "", 200
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if not _can_upload(membership):
            error = ("Uploads create production institutions: switch Test mode off first."
                     if membership.organization.production_enabled else
                     "Uploads create production institutions, and production is not enabled for your organization yet.")
        elif uploaded is None:
            error = "Choose a CSV file to upload."
        elif uploaded.size > bulk.MAX_BYTES:
            error = (f"The file is {uploaded.size / 1024 / 1024:.1f} MB; the limit is {bulk.MAX_BYTES // 1024 // 1024} MB "
                     f"(about {bulk.MAX_ROWS:,} rows). Split it into several files.")
        else:
            try:
                upload, already = bulk.bulk_upload_create(
                    organization=membership.organization, actor=request.user, filename=uploaded.name,
                    content=uploaded.read(), ip=client_ip(request))
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if not getattr(upload, "check_queued", True):
                    messages.warning(request, "Your file is saved. The background service that checks files is not "
                                              "answering right now: the check starts by itself as soon as it is back, "
                                              "usually within a minute or two. You can leave this page.")
                if already:
                    messages.info(request, f"You uploaded this file on {timezone.localtime(upload.created_at):%-d %b %Y} and "
                                           "its import was already confirmed: nothing is imported twice. To add more "
                                           "practices, upload a file with the new rows.")
                return redirect("institutions:bulk_detail", upload.public_id)
        status = 400
    recent = BulkUpload.objects.filter(organization=membership.organization).select_related("uploaded_by")[:10]
    return render(request, "institutions/bulk_upload.html", {
        "error": error, "can_upload": _can_upload(membership), "recent": recent, "column_notes": COLUMN_NOTES,
        "systems": sorted(SYNC_OPTIONS.values(), key=lambda option: option.key), "max_rows": bulk.MAX_ROWS,
        "max_mb": bulk.MAX_BYTES // 1024 // 1024,
    }, status=status)


@permission_required("portal.view")
@require_GET
def bulk_detail(request, public_id):
    upload = _organization_upload(request, public_id)
    selected = request.GET.get("show", "")
    if selected not in FILTERS:
        selected = "problems" if upload.error_count else "matches" if upload.match_count else "all"
    rows = upload.rows.order_by("number")
    if selected == "problems":
        rows = rows.filter(state=BulkUploadRow.State.ERROR)
    elif selected == "matches":
        rows = rows.filter(state=BulkUploadRow.State.MATCH)
    elif selected == "ready":
        rows = rows.filter(state=BulkUploadRow.State.READY)
    page = Paginator(rows.select_related("institution", "sync"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "institutions/bulk_detail.html", {
        "upload": upload, "page": page, "filters": FILTERS, "selected": selected,
        "counts": {"problems": upload.error_count, "matches": upload.match_count, "ready": upload.ready_count,
                   "all": upload.row_count},
        "stalled": bulk.bulk_upload_stalled(upload), "can_upload": _can_upload(request.membership),
        "imported": upload.status in (BulkUpload.Status.DONE, BulkUpload.Status.FAILED, BulkUpload.Status.IMPORTING),
        "checking": upload.status == BulkUpload.Status.UPLOADED,
        **_progress(upload),
    })


@permission_required("institution.upload")
@require_POST
def bulk_confirm(request, public_id):
    upload = _organization_upload(request, public_id)
    if not _can_upload(request.membership):
        messages.error(request, "Uploads create production institutions: switch Test mode off to import.")
        return redirect("institutions:bulk_detail", upload.public_id)
    try:
        started = bulk.bulk_upload_confirm(upload=upload, actor=request.user, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if not started:
            upload.refresh_from_db()
            if upload.status in (BulkUpload.Status.IMPORTING, BulkUpload.Status.DONE):
                messages.info(request, "This upload is already being imported: nothing was started twice.")
            else:
                messages.error(request, "There is nothing to import: every row has errors or is already live.")
    return redirect("institutions:bulk_detail", upload.public_id)


@permission_required("portal.view")
@require_GET
def bulk_progress(request, public_id):
    """The progress bar of the check or the import (htmx polls it every second); once it ends, the page reloads into
    the check's rows or the import's result."""
    upload = _organization_upload(request, public_id)
    response = render(request, "institutions/bulk_progress.html", {"upload": upload, **_progress(upload)})
    if upload.status not in WORKING and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@permission_required("portal.view")
@require_GET
def bulk_result_csv(request, public_id):
    upload = _organization_upload(request, public_id)
    response = StreamingHttpResponse(bulk.result_csv_lines(upload), content_type="text/csv; charset=utf-8")
    stem = upload.filename.rsplit(".", 1)[0] or "upload"
    safe_stem = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in stem)[:80]
    response["Content-Disposition"] = f'attachment; filename="{safe_stem}-result.csv"'
    return response


def _progress(upload: BulkUpload) -> dict:
    if upload.status == BulkUpload.Status.UPLOADED:  # the check: rows validated, matched, then stored
        total = 3 * upload.row_count
        done = min(upload.processed_count, total)
        return {"progress_done": done, "progress_total": total, "progress_percent": int(done * 100 / total) if total else 0,
                "check_waiting": upload.check_started_at is None,
                "check_stalled": bulk.bulk_upload_stalled(upload)}
    total = upload.ready_count
    done = min(upload.processed_count, total)
    return {"progress_done": done, "progress_total": total, "progress_percent": int(done * 100 / total) if total else 100}
