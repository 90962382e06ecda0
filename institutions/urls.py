from django.urls import path

from institutions import views
from syncs import views as sync_views

app_name = "institutions"
urlpatterns = [
    path("", views.institution_list, name="list"),
    path("new/", views.institution_create, name="create"),
    path("subdomain/", views.subdomain_preview, name="subdomain_preview"),
    path("<slug:subdomain>/", views.institution_detail, name="detail"),
    path("<slug:subdomain>/syncs/new/", sync_views.sync_create, name="sync_create"),
    path("<slug:subdomain>/deactivate/", views.institution_deactivate, name="deactivate"),
]
