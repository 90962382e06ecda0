from django.urls import path

from institutions import bulk_views, consent_views, views

app_name = "institutions"
urlpatterns = [
    path("", views.institution_list, name="list"),
    path("new/", views.institution_create, name="create"),
    path("subdomain/", views.subdomain_preview, name="subdomain_preview"),
    # Before "<slug:subdomain>/", which would otherwise take "upload" for a subdomain.
    path("upload/", bulk_views.bulk_upload, name="bulk_upload"),
    path("upload/sample.csv", bulk_views.bulk_sample, name="bulk_sample"),
    path("upload/<uuid:public_id>/", bulk_views.bulk_detail, name="bulk_detail"),
    path("upload/<uuid:public_id>/confirm/", bulk_views.bulk_confirm, name="bulk_confirm"),
    path("upload/<uuid:public_id>/progress/", bulk_views.bulk_progress, name="bulk_progress"),
    path("upload/<uuid:public_id>/result.csv", bulk_views.bulk_result_csv, name="bulk_result_csv"),
    path("<slug:subdomain>/", views.institution_detail, name="detail"),
    path("<slug:subdomain>/deactivate/", views.institution_deactivate, name="deactivate"),
    path("<slug:subdomain>/delete/", views.institution_delete, name="delete"),
    path("<slug:subdomain>/request-access/", consent_views.request_access, name="request_access"),
]
