"""The Simplified Chinese translation: complete, compiled, and switched to from the language form."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries(path: Path) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for every entry of a .po file (a small reader of the gettext format)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.strip().splitlines() if not ln.startswith("#~")]
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
        fields: dict[str, str] = {}
        key = None
        for line in lines:
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?|msgctxt) (".*")$', line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
        if "msgid" in fields and fields["msgid"]:
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            # gettext keys a message with a context as "context\x04msgid".
            key = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
            entries.append((key, strs, fuzzy))
    return entries


def test_every_message_has_a_chinese_translation():
    entries = po_entries(LOCALE / "django.po")

    assert len(entries) > 100
    untranslated = [msgid for msgid, strs, fuzzy in entries if fuzzy or not all(strs)]
    assert untranslated == [], f"untranslated or fuzzy: {untranslated[:20]}"


def test_the_compiled_catalog_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # the compiled messages

    compiled = {key[0] if isinstance(key, tuple) else key for key in catalog}
    missing = [msgid for msgid, _strs, _fuzzy in po_entries(LOCALE / "django.po") if msgid not in compiled]
    assert missing == [], (
        f"django.mo is stale; run `python manage.py compilemessages -l zh_Hans -i .venv`: {missing[:10]}"
    )


@pytest.mark.django_db
def test_the_language_form_switches_the_pages_to_chinese_and_back(client):
    chinese = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/queue/"}, follow=True)

    html = chinese.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "排行榜" in html  # the nav's "Leaderboard"
    assert "评测队列" in html  # the page's title
    assert '<option value="zh-hans" selected>简体中文</option>' in html

    english = client.post("/i18n/setlang/", {"language": "en", "next": "/queue/"}, follow=True)
    assert "Evaluation queue" in english.content.decode() and "排行榜" not in english.content.decode()


@pytest.mark.django_db
def test_a_browser_asking_for_chinese_gets_chinese(client):
    html = client.get("/queue/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()

    assert "排行榜" in html and "评测队列" in html
