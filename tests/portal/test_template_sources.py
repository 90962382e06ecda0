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
