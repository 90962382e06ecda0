from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from institutions import api as institutions_api
from syncs.webhooks import api as webhooks_api
from portal.api import views
from portal.api.docs import api_docs
from portal.api.base import IdConverter
from syncs import api as syncs_api
from syncs import api_onboardings, api_practice, api_records

register_converter(IdConverter, "id")

urlpatterns = [
    path("authenticates", views.Authenticates.as_view(), name="api-authenticates"),
    path("institutions", institutions_api.InstitutionList.as_view(), name="api-institutions"),
    path("institutions/<id:id>", institutions_api.InstitutionDetail.as_view(), name="api-institution"),
    path("locations", institutions_api.LocationList.as_view(), name="api-locations"),
    path("locations/<id:id>", institutions_api.LocationDetail.as_view(), name="api-location"),
    path("locations/<id:id>/appointment_descriptors", api_practice.LocationDescriptors.as_view(),
         name="api-location-descriptors"),
    path("sync_status", syncs_api.SyncStatusList.as_view(), name="api-sync-status"),
    path("providers", syncs_api.ProviderList.as_view(), name="api-providers"),
    path("providers/<id:id>", syncs_api.ProviderDetail.as_view(), name="api-provider"),
    path("operatories", syncs_api.OperatoryList.as_view(), name="api-operatories"),
    path("operatories/<id:id>", syncs_api.OperatoryDetail.as_view(), name="api-operatory"),
    path("appointment_types", syncs_api.AppointmentTypeList.as_view(), name="api-appointment-types"),
    path("appointment_types/<id:id>", syncs_api.AppointmentTypeDetail.as_view(), name="api-appointment-type"),
    path("appointment_types/<id:id>/appointment_descriptors", api_practice.AppointmentTypeDescriptors.as_view(),
         name="api-appointment-type-descriptors"),
    path("patients", syncs_api.PatientList.as_view(), name="api-patients"),
    path("patients/<id:id>", api_practice.PatientDetail.as_view(), name="api-patient"),
    path("patients/<id:id>/documents", api_practice.PatientDocuments.as_view(), name="api-patient-documents"),
    path("patients/<id:id>/documents/<id:document_id>/file", api_practice.PatientDocumentFile.as_view(),
         name="api-patient-document-file"),
    path("patients/<id:id>/alerts", api_practice.PatientAlerts.as_view(), name="api-patient-alerts"),
    path("patients/<id:id>/alerts/<id:alert_id>", api_practice.PatientAlertDetail.as_view(), name="api-patient-alert"),
    path("appointments", syncs_api.AppointmentList.as_view(), name="api-appointments"),
    path("appointments/<id:id>", api_practice.AppointmentDetail.as_view(), name="api-appointment"),
    path("appointments/<id:id>/appointment_descriptors", api_practice.AppointmentDescriptors.as_view(),
         name="api-appointment-descriptors"),
    path("working_hours", api_practice.WorkingHours.as_view(), name="api-working-hours"),
    path("working_hours/<id:id>", api_practice.WorkingHourDetail.as_view(), name="api-working-hour"),
    path("available_slots", syncs_api.AvailableSlots.as_view(), name="api-available-slots"),
    path("webhook_endpoints", webhooks_api.WebhookEndpointList.as_view(), name="api-webhook-endpoints"),
    path("webhook_endpoints/<id:id>", webhooks_api.WebhookEndpointDetail.as_view(), name="api-webhook-endpoint"),
    path("webhook_endpoints/<id:id>/webhook_subscriptions", webhooks_api.WebhookSubscriptionList.as_view(),
         name="api-webhook-subscriptions"),
    path("webhook_endpoints/<id:id>/webhook_subscriptions/<id:subscription_id>",
         webhooks_api.WebhookSubscriptionDetail.as_view(), name="api-webhook-subscription"),
    *[route for name, (list_view, detail_view) in api_records.VIEWS.items() for route in (
        path(name, {"payments": api_practice.Payments, "adjustments": api_practice.Adjustments}.get(name, list_view)
             .as_view(), name=f"api-{name}"),
        *([] if name in api_records.LIST_ONLY else [path(f"{name}/<id:id>", detail_view.as_view(), name=f"api-{name}-one")]),
    )],
    path("onboardings", api_onboardings.Onboardings.as_view(), name="api-onboardings"),
    path("onboardings/<slug:hashid>", api_onboardings.OnboardingDetail.as_view(), name="api-onboarding"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    re_path(r"^(?P<path>.*)$", views.api_not_found),
]
