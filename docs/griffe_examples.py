"""A griffe extension for the API reference: Keras-style `Example:` sections are examples.

pytrainc's docstrings follow Keras: a runnable example comes under an
`Example:` title, at the title's own indentation, after a blank line. griffe's
Google parser reads an examples section only under `Examples:`, with its content
indented below the title; otherwise it renders the lines as Markdown, where
`>>>` becomes nested quotes. This rewrites such a section into that form before
griffe parses the docstring (the docstrings themselves, and their doctests, stay
as they are).
"""

import re

import griffe

_TITLE = re.compile(r"^(Example|Examples):\s*$")
_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


def google_examples(text):
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        if _TITLE.match(lines[i]):
            out.append("Examples:")
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            while i < len(lines) and not _SECTION.match(lines[i]):
                out.append("    " + lines[i] if lines[i].strip() else "")
                i += 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = google_examples(obj.docstring.value)
