"""Checks on the template sources themselves, so forms inside rarely-true conditions are covered too."""

import re
from pathlib import Path

import pytest
from django.conf import settings

POST_FORM = re.compile(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post[\"']?[^>]*>(?P<body>.*?)</form>", re.IGNORECASE | re.DOTALL)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def template_files() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    files = sorted(p for root in roots for p in root.rglob("*.html"))
    assert files, "no templates found: is TEMPLATES['DIRS'] set?"
    return files


def unprotected_post_forms(source: str) -> list[str]:
    return [m.group(0)[:80] for m in POST_FORM.finditer(source) if "{% csrf_token %}" not in m.group("body")]


def test_the_scanner_catches_a_post_form_without_a_token():
    assert unprotected_post_forms('{% if x %}<form method="post" action="/a/"><button>Go</button></form>{% endif %}')
    assert not unprotected_post_forms("<form method='POST'>{% csrf_token %}<button>Go</button></form>")
    assert not unprotected_post_forms('<form method="get"><button>Go</button></form>')


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_post_form_in_the_templates_carries_a_csrf_token(path):
    assert unprotected_post_forms(path.read_text()) == []


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_template_has_inline_scripts_or_event_handler_attributes(path):
    # The Content Security Policy allows our static scripts only; inline code would silently not run.
    source = path.read_text()
    assert not INLINE_SCRIPT.search(source) and not INLINE_HANDLER.search(source)


DESTRUCTIVE_FORM = re.compile(
    r"<form\b[^>]*\baction=\"\{% url '[\w:]*(?:delete|cancel|revoke|remove|deactivate)[\w]*'[^>]*>", re.IGNORECASE)
# Confirmation forms kept in a partial: each is included in a <dialog> and is also a confirmation page of its own.
CONFIRMATION_PARTIALS = {"institutions/_delete_form.html", "institutions/_deactivate_form.html"}


def unasked_destructive_forms(source: str) -> list[str]:
    """Forms that delete, cancel, revoke, remove or deactivate outside a <dialog>: they would act without asking."""
    unasked = []
    for match in DESTRUCTIVE_FORM.finditer(source):
        before = source[:match.start()]
        if before.rfind("<dialog") <= before.rfind("</dialog>"):
            unasked.append(match.group(0)[:100])
    return unasked


def test_the_destructive_scanner_catches_a_form_that_does_not_ask():
    assert unasked_destructive_forms("""<form method="post" action="{% url 'member_delete' m.pk %}">""")
    assert not unasked_destructive_forms("""<dialog id="d"><form method="post" action="{% url 'member_delete' m.pk %}">""")
    assert unasked_destructive_forms("""<dialog></dialog><form method="post" action="{% url 'invitation_cancel' i %}">""")


def test_every_destructive_form_asks_first():
    root = Path(settings.TEMPLATES[0]["DIRS"][0])
    offenders = [f"{path.relative_to(root)}: {form}" for path in template_files()
                 if path.relative_to(root).as_posix() not in CONFIRMATION_PARTIALS
                 for form in unasked_destructive_forms(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize("partial", sorted(CONFIRMATION_PARTIALS))
def test_each_confirmation_partial_is_shown_in_a_dialog(partial):
    in_dialog = []
    for path in template_files():
        source = path.read_text()
        for include in re.finditer(re.escape(f'{{% include "{partial}"'), source):
            before = source[:include.start()]
            in_dialog.append(before.rfind("<dialog") > before.rfind("</dialog>"))
    assert True in in_dialog, f"{partial} is never shown in a <dialog>"
