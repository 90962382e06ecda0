from django.urls import path

from syncs import scheduling_views, views

app_name = "syncs"
urlpatterns = [
    path("<str:code>/", views.sync_detail, name="detail"),
    path("<str:code>/instructions/", views.sync_email_instructions, name="instructions"),
    path("<str:code>/credentials/", views.sync_submit_credentials, name="credentials"),
    path("<str:code>/locations/", views.sync_select_locations, name="locations"),
    path("<str:code>/retry/", views.sync_retry, name="retry"),
    path("<str:code>/downtime/", views.sync_set_downtime, name="downtime"),
    path("<str:code>/reinstall/", views.sync_request_reinstall, name="reinstall"),
    path("<str:code>/activate-locations/", views.sync_activate_locations, name="activate_locations"),
    path("<str:code>/schedule/", scheduling_views.schedule, name="schedule"),
    path("<str:code>/schedule/cancel/", scheduling_views.cancel, name="schedule_cancel"),
]
