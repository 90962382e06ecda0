from django.urls import path

from syncs.protocol import api as agent_api

urlpatterns = [
    path("activate", agent_api.Activate.as_view(), name="agent-activate"),
    path("locations", agent_api.Locations.as_view(), name="agent-locations"),
    path("heartbeat", agent_api.Heartbeat.as_view(), name="agent-heartbeat"),
    path("records", agent_api.Records.as_view(), name="agent-records"),
    path("write_jobs", agent_api.WriteJobs.as_view(), name="agent-write-jobs"),
    path("write_jobs/<uuid:job_id>", agent_api.WriteJobResult.as_view(), name="agent-write-job"),
    path("write_jobs/<uuid:job_id>/file", agent_api.WriteJobFile.as_view(), name="agent-write-job-file"),
    path("extension/heartbeat", agent_api.ExtensionHeartbeat.as_view(), name="agent-extension-heartbeat"),
]
