"""
Badge images: what an upload must be before it is stored and served from the LMS's own domain.

PNG or SVG, at most MAX_BYTES. An SVG is served as an image but could carry script when opened
directly, so it is parsed (defusedxml: no entity expansion, no external entities) and refused if it
holds scripts, event handlers, foreign objects or references to anything outside itself.
"""

from pathlib import PurePosixPath

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SVG_NS = "{http://www.w3.org/2000/svg}"
_FORBIDDEN_ELEMENTS = {"script", "foreignObject", "iframe", "embed", "object"}
_LINK_ATTRIBUTES = {"href", "{http://www.w3.org/1999/xlink}href", "src"}


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def validate_badge_image(upload):
    """Raise ValidationError unless ``upload`` (a Django File) is a safe PNG or SVG of allowed size."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationError(_("The badge image is %(size)d KiB; at most %(max)d KiB is allowed.")
                              % {"size": upload.size // 1024, "max": MAX_BYTES // 1024})
    suffix = PurePosixPath(upload.name or "").suffix.lower()
    upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    upload.seek(0)
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The badge image is larger than %(max)d KiB.") % {"max": MAX_BYTES // 1024})
    if suffix == ".png":
        if not data.startswith(PNG_SIGNATURE):
            raise ValidationError(_("This file is named .png but is not a PNG image."))
        return
    if suffix == ".svg":
        _check_svg(data)
        return
    raise ValidationError(_("A badge image is a PNG or an SVG file."))


def _check_svg(data):
    try:
        root = SafeElementTree.fromstring(data)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise ValidationError(_("This SVG file cannot be read: %(error)s") % {"error": exc}) from exc
    if root.tag != f"{_SVG_NS}svg":
        raise ValidationError(_("This file is not an SVG image (its root element is not <svg>)."))
    for element in root.iter():
        name = _local(element.tag)
        if name in _FORBIDDEN_ELEMENTS:
            raise ValidationError(_("SVG badge images may not contain <%(name)s>.") % {"name": name})
        for attribute, value in element.attrib.items():
            if _local(attribute).lower().startswith("on"):
                raise ValidationError(_("SVG badge images may not contain event handlers (%(attr)s).")
                                      % {"attr": _local(attribute)})
            if attribute in _LINK_ATTRIBUTES and not value.strip().startswith(("#", "data:image/")):
                raise ValidationError(_("SVG badge images may only refer to their own content, not %(value)s.")
                                      % {"value": value[:80]})
