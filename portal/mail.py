from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class ConsoleAndFileBackend(BaseEmailBackend):
    """Local default: print every email and keep a copy in var/mail/ so links can be clicked later."""

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently)
        self.backends = [ConsoleBackend(fail_silently=fail_silently, **kwargs), FileBackend(fail_silently=fail_silently, **kwargs)]

    def send_messages(self, email_messages) -> int:
        sent = 0
        for backend in self.backends:
            sent = backend.send_messages(email_messages) or 0
        return sent
