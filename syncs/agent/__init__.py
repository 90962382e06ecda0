"""The reference Synchronizer agent: reads an Open Dental-shaped database and talks AGENT_PROTOCOL v1.

Standard library only (plus PyMySQL for MariaDB/MySQL), and no Django: it runs on a practice server,
not inside the portal. `python -m syncs.agent --help` for the agent, `python -m syncs.agent.practice_db
--help` for the practice-database generator.
"""

AGENT_VERSION = "1.0.0"
