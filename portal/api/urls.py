from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from institutions import api as institutions_api
from syncs.webhooks import api as webhooks_api
from portal.api import views
from portal.api.docs import api_docs
from portal.api.base import IdConverter
from syncs import api as syncs_api

register_converter(IdConverter, "id")

urlpatterns = [
    path("authenticates", views.Authenticates.as_view(), name="api-authenticates"),
    path("institutions", institutions_api.InstitutionList.as_view(), name="api-institutions"),
    path("institutions/<id:id>", institutions_api.InstitutionDetail.as_view(), name="api-institution"),
    path("locations", institutions_api.LocationList.as_view(), name="api-locations"),
    path("locations/<id:id>", institutions_api.LocationDetail.as_view(), name="api-location"),
    path("sync_status", syncs_api.SyncStatusList.as_view(), name="api-sync-status"),
    path("providers", syncs_api.ProviderList.as_view(), name="api-providers"),
    path("providers/<id:id>", syncs_api.ProviderDetail.as_view(), name="api-provider"),
    path("operatories", syncs_api.OperatoryList.as_view(), name="api-operatories"),
    path("operatories/<id:id>", syncs_api.OperatoryDetail.as_view(), name="api-operatory"),
    path("appointment_types", syncs_api.AppointmentTypeList.as_view(), name="api-appointment-types"),
    path("appointment_types/<id:id>", syncs_api.AppointmentTypeDetail.as_view(), name="api-appointment-type"),
    path("patients", syncs_api.PatientList.as_view(), name="api-patients"),
    path("patients/<id:id>", syncs_api.PatientDetail.as_view(), name="api-patient"),
    path("appointments", syncs_api.AppointmentList.as_view(), name="api-appointments"),
    path("appointments/<id:id>", syncs_api.AppointmentDetail.as_view(), name="api-appointment"),
    path("working_hours", syncs_api.WorkingHourList.as_view(), name="api-working-hours"),
    path("available_slots", syncs_api.AvailableSlots.as_view(), name="api-available-slots"),
    path("webhook_endpoints", webhooks_api.WebhookEndpointList.as_view(), name="api-webhook-endpoints"),
    path("webhook_endpoints/<id:id>", webhooks_api.WebhookEndpointDetail.as_view(), name="api-webhook-endpoint"),
    path("webhook_endpoints/<id:id>/webhook_subscriptions", webhooks_api.WebhookSubscriptionList.as_view(),
         name="api-webhook-subscriptions"),
    path("webhook_endpoints/<id:id>/webhook_subscriptions/<id:subscription_id>",
         webhooks_api.WebhookSubscriptionDetail.as_view(), name="api-webhook-subscription"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    re_path(r"^(?P<path>.*)$", views.api_not_found),
]
