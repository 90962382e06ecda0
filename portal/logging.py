import logging
import re

# Paths that carry a secret: invitation, consent and practice links, allauth's password-reset and
# email-confirmation links, and anything that looks like an API key.
SECRET_PATTERNS = [
    (re.compile(r"(/(?:invitations|consent|practice/join|accounts/confirm-email|accounts/password/reset/key)/)"
                r"[^/\s\"']+"), r"\1[redacted]"),
    (re.compile(r"chs_(?:test|live)_[A-Za-z0-9]+"), "chs_[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Keep secrets that travel in URLs out of every log line (request logs name the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
