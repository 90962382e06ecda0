"""Webhooks: developers' endpoints and subscriptions, signed deliveries with retries (services), their API (api)."""
