# Syncs, their lifecycle and the synced practice records arrive with the sync-onboarding issues.
