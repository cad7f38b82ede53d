"""Notes and tags on runs: what a person wrote about a run, kept beside its record.

A run's note is free text (at most :data:`NOTE_MAX` characters); its tags are short words
(letters, digits, ``-``, ``_`` and ``.``; at most :data:`TAG_MAX` characters, :data:`TAGS_MAX` of
them) that the ledger filters on. Both are checked here, once, for every way in (the Runs page,
tests, scripts): a visitor's text never becomes a path, and one request cannot store much.
The store writes them to ``runs/<run_id>.notes.json``; retraining or extending the run keeps
them, deleting or evicting it removes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NOTE_MAX = 2_000
TAG_MAX = 24
TAGS_MAX = 8
_TAG = re.compile(r"[a-z0-9][a-z0-9_.-]*")


@dataclass(frozen=True)
class Annotation:
    note: str = ""
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"note": self.note, "tags": list(self.tags)}

    @classmethod
    def from_json(cls, d) -> Annotation:
        """From a stored file; anything that does not pass the checks reads as no annotation."""
        try:
            return cls(check_note(d.get("note", "")), check_tags(d.get("tags", ())))
        except (AttributeError, TypeError, ValueError):
            return cls()

    def matches(self, text: str) -> bool:
        """Whether ``text`` (case-insensitive) occurs in the note or in a tag."""
        text = text.strip().lower()
        return not text or text in self.note.lower() or any(text in t for t in self.tags)


def check_note(note) -> str:
    if not isinstance(note, str):
        raise ValueError(f"a note must be text, got {type(note).__name__}")
    note = "".join(
        c for c in unicodedata.normalize("NFC", note) if c in "\n\t" or c.isprintable()
    ).strip()
    if len(note) > NOTE_MAX:
        raise ValueError(f"a note must be at most {NOTE_MAX:,} characters, got {len(note):,}")
    return note


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags typed as one line, separated by commas: 'baseline, adam' -> ('baseline', 'adam')."""
    if not isinstance(text, str):
        raise ValueError(f"tags must be text, got {type(text).__name__}")
    return check_tags(t for t in text.split(",") if t.strip())


def check_tags(tags) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise ValueError("tags must be a list of words, not one string")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"a tag must be text, got {type(tag).__name__}")
        tag = tag.strip().lower()
        if not (0 < len(tag) <= TAG_MAX and _TAG.fullmatch(tag)):
            raise ValueError(
                f"a tag is 1 to {TAG_MAX} letters, digits, '-', '_' or '.', starting with a letter "
                f"or digit; got {tag[:40]!r}"
            )
        if tag not in out:
            out.append(tag)
        if len(out) > TAGS_MAX:
            raise ValueError(f"a run takes at most {TAGS_MAX} tags")
    return tuple(out)
