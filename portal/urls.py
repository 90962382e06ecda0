from django.contrib import admin
from django.urls import include, path

from institutions import consent_views, practice_views
from institutions import urls as institution_urls
from portal import health, views
from syncs import views as sync_views
from syncs.support_console import with_queues
from syncs.onboarding_views import onboarding_practice
from syncs.status_views import sync_status

# admin.site is portal.admin_site.SupportAdminSite (see ChairsideAdminConfig): sign-in through allauth, 2FA gate.
admin.autodiscover()
admin.site.index = with_queues(admin.site.index)  # the support console's home lists the queues support works from

handler500 = "portal.outage.handler500"  # 503 for an outage; else the envelope's 500 on /api/, the page elsewhere

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", views.home, name="home"),
    path("mode/", views.mode_switch, name="mode_switch"),
    path("organization/", views.organization_switch, name="organization_switch"),
    path("users/security/", views.organization_security, name="organization_security"),
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite, name="invite"),
    path("users/invitations/<uuid:public_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("users/invitations/<uuid:public_id>/cancel/", views.invitation_cancel, name="invitation_cancel"),
    path("users/<uuid:public_id>/role/", views.member_set_role, name="member_set_role"),
    path("users/<uuid:public_id>/delete/", views.member_delete, name="member_delete"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("production-access/", views.production_access, name="production_access"),
    path("audit/", views.audit_log, name="audit_log"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("consent/<str:token>/", consent_views.consent, name="consent"),
    path("onboard/<str:token>/", onboarding_practice, name="onboarding_practice"),
    path("practice/apps/", practice_views.practice_apps, name="practice_apps"),
    path("practice/apps/<int:organization_id>/", practice_views.practice_decide, name="practice_decide"),
    path("practice/join/<str:token>/", practice_views.practice_join, name="practice_join"),
    # Creating a sync starts on its institution's page, but the view is syncs': routed here, where apps meet.
    path("institutions/", include((institution_urls.urlpatterns + [
        path("<slug:subdomain>/syncs/new/", sync_views.sync_create, name="sync_create"),
    ], "institutions"))),
    path("sync-status/", sync_status, name="sync_status"),
    path("downloads/chairside-synchronizer.pyz", sync_views.synchronizer_download, name="synchronizer_download"),
    path("syncs/", include("syncs.urls")),
    path("api/", include("portal.api.urls")),
    path("synchronizer/v1/", include("syncs.protocol.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
