"""The server side of the Synchronizer protocol (/synchronizer/v1/); the reference agent itself is syncs/agent/."""
