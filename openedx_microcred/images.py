r"""
Badge images: what an upload must be before it is stored and served from the LMS's own domain.

PNG or SVG, at most MAX_BYTES. An SVG opened directly (not through <img>) is a document of the LMS's
origin: anything that can run script, navigate, or fetch from elsewhere is a stored XSS or a tracking
pixel. So an SVG is parsed with defusedxml (no entity expansion, no external entities) and checked
against an allow-list of what a static badge needs: shapes, paths, text, gradients, patterns, masks,
clip paths, markers and the filter primitives that load nothing, `<title>`/`<desc>`/`<metadata>`, and
`<use>`/`<image>` that refer only to the image itself (or, for `<image>`, to an embedded raster).
There is no animation at all (`<animate attributeName="href">` and `<set>` rewrite links), no `<a>`, no
`<script>`, `<foreignObject>` or XHTML. CSS, in `style` attributes, `<style>` sheets and presentation
attributes, is tokenized by tinycss2 (so escapes such as `u\72l(` are decoded the way a browser
does) and may only use known properties, no at-rules, and functions that fetch nothing; `url()` must
be a local `url(#id)`.

An upload that breaks a rule is refused with the rule, rather than cleaned: the course team learns
what their tool exported and the stored file is byte for byte the one they chose. No maintained
Python SVG sanitizer fits (PyPI's are prototypes or thin 0.x bindings that rewrite silently and say
nothing about what they dropped; nh3 and bleach sanitize HTML and serialize HTML, not SVG/XML).

Uploaded images are also served with a sandboxing Content-Security-Policy (views.badge_image), so a
file stored before these rules, or one they miss, still cannot run script.
"""

import hashlib
import re
from pathlib import PurePosixPath
from xml.etree.ElementTree import TreeBuilder

import defusedxml.ElementTree as SafeElementTree
import tinycss2
from defusedxml import DefusedXmlException
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

try:  # optional: the "png" extra; cairocffi raises OSError when Debian's libcairo2 is missing
    import cairosvg
except (ImportError, OSError):
    cairosvg = None

MAX_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONTENT_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
UPLOAD_TO = "microcred/badges/"  # Credential.image's folder in the storage
# A declaration list (a style attribute, a rule's content) as tinycss2 reads it. 1.3 (CSS nesting)
# added parse_blocks_contents, which Sumac's pin of tinycss2 (1.2.1) does not have; its
# parse_declaration_list reads a nested rule as a parse error, refused like the qualified rule 1.3
# returns (tox -e edx-sumac runs the image tests with it).
_parse_declarations = getattr(tinycss2, "parse_blocks_contents", tinycss2.parse_declaration_list)

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
_XML = "http://www.w3.org/XML/1998/namespace"
# Editor bookkeeping (Inkscape, Sodipodi) and RDF metadata: a browser neither renders nor runs
# elements of these namespaces; their attributes are still checked like any other.
_EDITOR_NAMESPACES = {
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://purl.org/dc/elements/1.1/",
    "http://creativecommons.org/ns#",
}

_ELEMENTS = {
    "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "style", "switch",
    "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "image",
    "text", "tspan", "textPath",
    "linearGradient", "radialGradient", "stop", "pattern", "clipPath", "mask", "marker",
    # Filter primitives; not feImage, which loads its href.
    "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feConvolveMatrix",
    "feDiffuseLighting", "feDisplacementMap", "feDistantLight", "feDropShadow", "feFlood", "feFuncA",
    "feFuncB", "feFuncG", "feFuncR", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology",
    "feOffset", "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
}

# Presentation attributes: CSS values, checked as CSS. Also the properties a `style` may set.
_PRESENTATION = {
    "alignment-baseline", "baseline-shift", "clip", "clip-path", "clip-rule", "color",
    "color-interpolation", "color-interpolation-filters", "color-rendering", "direction", "display",
    "dominant-baseline", "enable-background", "fill", "fill-opacity", "fill-rule", "filter",
    "flood-color", "flood-opacity", "font", "font-family", "font-feature-settings", "font-kerning",
    "font-size", "font-size-adjust", "font-stretch", "font-style", "font-variant", "font-weight",
    "image-rendering", "isolation", "letter-spacing", "lighting-color", "line-height", "marker",
    "marker-end", "marker-mid", "marker-start", "mask", "mask-type", "mix-blend-mode", "opacity",
    "overflow", "paint-order", "shape-rendering", "stop-color", "stop-opacity", "stroke",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-opacity", "stroke-width", "text-anchor", "text-decoration", "text-rendering",
    "transform", "transform-box", "transform-origin", "unicode-bidi", "vector-effect", "visibility",
    "white-space", "word-spacing", "writing-mode",
    # Geometry properties that SVG 2 lets a style set.
    "cx", "cy", "r", "rx", "ry", "x", "y", "width", "height", "d",
}

# Plain values that load nothing (numbers, lengths, path data, filter parameters, references by id).
_PLAIN = {
    "id", "class", "lang", "tabindex", "role", "focusable", "version", "baseProfile", "viewBox",
    "preserveAspectRatio", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy",
    "fr", "width", "height", "d", "points", "pathLength", "dx", "dy", "rotate", "textLength",
    "lengthAdjust", "startOffset", "method", "spacing", "side", "offset", "gradientUnits",
    "gradientTransform", "spreadMethod", "patternUnits", "patternContentUnits", "patternTransform",
    "clipPathUnits", "maskUnits", "maskContentUnits", "markerUnits", "markerWidth", "markerHeight",
    "refX", "refY", "orient", "filterUnits", "primitiveUnits", "in", "in2", "result", "mode",
    "operator", "k1", "k2", "k3", "k4", "type", "values", "tableValues", "slope", "intercept",
    "amplitude", "exponent", "stdDeviation", "edgeMode", "kernelMatrix", "order", "divisor", "bias",
    "targetX", "targetY", "preserveAlpha", "kernelUnitLength", "surfaceScale", "diffuseConstant",
    "specularConstant", "specularExponent", "azimuth", "elevation", "z", "pointsAtX", "pointsAtY",
    "pointsAtZ", "limitingConeAngle", "scale", "xChannelSelector", "yChannelSelector", "radius",
    "baseFrequency", "numOctaves", "seed", "stitchTiles", "media", "systemLanguage", "path",
    f"{{{_XML}}}space", f"{{{_XML}}}lang",
}
_HREFS = {"href", f"{{{_XLINK}}}href"}
_FREE_TEXT_PREFIXES = ("data-", "aria-")  # inert in SVG; badge tools write data-name

# CSS functions that compute a value and fetch nothing. `url` is handled apart (local only).
_CSS_FUNCTIONS = {
    "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color", "color-mix",
    "calc", "min", "max", "clamp", "matrix", "matrix3d", "translate", "translatex", "translatey",
    "translate3d", "scale", "scalex", "scaley", "scale3d", "rotate", "rotate3d", "skew", "skewx",
    "skewy", "perspective", "blur", "brightness", "contrast", "drop-shadow", "grayscale",
    "hue-rotate", "invert", "opacity", "saturate", "sepia", "inset", "circle", "ellipse", "polygon",
    "rect",
}
_RASTER_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*\Z", re.IGNORECASE)


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag):
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _refuse(message, **values):
    raise ValidationError(message % values)


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


class _Target:
    """
    A tree builder that also remembers processing instructions, wherever they are.

    ElementTree drops them, but a browser honours `<?xml-stylesheet href="…"?>` before the root.
    """

    def __init__(self):
        self._builder = TreeBuilder()
        self.instructions = []
        self.start, self.end, self.data = self._builder.start, self._builder.end, self._builder.data

    def pi(self, target, _text=None):
        self.instructions.append(target)

    def close(self):
        return self._builder.close()


def _parse(data):
    """The parsed SVG (defusedxml: no entities, no external references); refuses processing instructions."""
    target = _Target()
    try:
        parser = SafeElementTree.DefusedXMLParser(target=target)
        parser.feed(data)
        root = parser.close()
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        # LookupError: an XML declaration naming an encoding Python does not know.
        raise ValidationError(_("This SVG file cannot be read: %(error)s") % {"error": exc}) from exc
    if target.instructions:
        _refuse(_("SVG badge images may not contain processing instructions (<?%(name)s?>)."),
                name=target.instructions[0][:40])
    return root


def _check_svg(data):
    """Refuse an SVG that could run script or load anything: elements, attributes and styles."""
    root = _parse(data)
    if root.tag != f"{{{_SVG}}}svg":
        raise ValidationError(_("This file is not an SVG image (its root element is not <svg>)."))
    for element in root.iter():
        namespace, name = _namespace(element.tag), _local(element.tag)
        inert = namespace in _EDITOR_NAMESPACES
        if not inert and (namespace != _SVG or name not in _ELEMENTS):
            _refuse(_("SVG badge images may not contain <%(name)s>: only static shapes, text, gradients, "
                      "filters and references inside the image are allowed."), name=name[:40])
        for attribute, value in element.attrib.items():
            _check_attribute(name, attribute, value, inert)
        if name == "style" and namespace == _SVG:
            if len(element):
                _refuse(_("An SVG <style> element may only hold CSS."))
            _check_stylesheet(element.text or "")


def _check_attribute(element, attribute, value, inert):
    """Refuse an attribute that handles events, references outside the image or styles unsafely."""
    name = _local(attribute)
    if name.lower().startswith("on"):
        _refuse(_("SVG badge images may not contain event handlers (%(attr)s)."), attr=name[:40])
    if attribute in _HREFS:
        reference = value.strip()
        if not (reference.startswith("#") or (element == "image" and _RASTER_DATA_URL.match(reference))):
            _refuse(_("SVG badge images may only refer to their own content, not %(value)s."),
                    value=value[:80])
        return
    if attribute == "style":
        _check_declarations(value)
        return
    if attribute in _PRESENTATION:
        _check_css_value(attribute, tinycss2.parse_component_value_list(value))
        return
    if inert or attribute in _PLAIN or attribute.startswith(_FREE_TEXT_PREFIXES) \
            or _namespace(attribute) in _EDITOR_NAMESPACES:
        return
    label = {_XLINK: "xlink:", _XML: "xml:"}.get(_namespace(attribute), "") + name
    _refuse(_("SVG badge images may not use the attribute %(attr)s."), attr=label[:60])


def _check_stylesheet(css):
    """Refuse a <style> sheet with at-rules, unreadable rules or unsafe declarations."""
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule":
            _refuse(_("SVG badge styles may not use @%(rule)s."), rule=rule.lower_at_keyword[:40])
        if rule.type == "error":
            _refuse(_("This SVG style sheet cannot be read: %(error)s"), error=rule.message)
        # Selectors match, they load nothing: only the declarations are checked.
        _check_declarations(rule.content)


def _check_declarations(css):
    """Refuse a style attribute's declarations that are unreadable, at-rules or unsafe values."""
    for declaration in _parse_declarations(css, skip_comments=True, skip_whitespace=True):
        if declaration.type == "error":
            _refuse(_("This SVG style cannot be read: %(error)s"), error=declaration.message)
        if declaration.type == "at-rule":
            _refuse(_("SVG badge styles may not use @%(rule)s."), rule=declaration.lower_at_keyword[:40])
        if declaration.type != "declaration":
            _refuse(_("SVG badge styles may only hold declarations, not nested rules."))
        if declaration.lower_name not in _PRESENTATION:
            _refuse(_("SVG badge styles may not set %(property)s."), property=declaration.lower_name[:40])
        _check_css_value(declaration.lower_name, declaration.value)


def _check_css_value(where, tokens):
    """Refuse a CSS value that loads anything (url(), image-set(), …), however deeply nested."""
    # A stack, not recursion: a value of a hundred thousand nested brackets is a refusal, not a crash.
    pending = [iter(tokens)]
    while pending:
        token = next(pending[-1], None)
        if token is None:
            pending.pop()
        elif token.type == "url":
            _check_css_url(where, token.value)
        elif token.type == "function":
            if token.lower_name == "url":
                strings = [t for t in token.arguments if t.type not in ("whitespace", "comment")]
                if len(strings) != 1 or strings[0].type != "string":
                    _refuse(_("SVG badge styles may only use url(#id), not in %(where)s."), where=where)
                _check_css_url(where, strings[0].value)
            elif token.lower_name not in _CSS_FUNCTIONS:
                _refuse(_("SVG badge styles may not use %(function)s() (in %(where)s)."),
                        function=token.lower_name[:40], where=where)
            pending.append(iter(token.arguments))
        elif token.type in ("() block", "[] block", "{} block"):
            pending.append(iter(token.content))
        elif token.type == "at-keyword":
            _refuse(_("SVG badge styles may not use @%(rule)s."), rule=token.lower_value[:40])
        elif token.type == "error":
            _refuse(_("This SVG style cannot be read: %(error)s"), error=token.message)


def _check_css_url(where, url):
    if not url.strip().startswith("#"):
        _refuse(_("SVG badge styles may only use url(#id), not url(%(url)s) in %(where)s."),
                url=url[:80], where=where)


# --- The default badge: made when a credential has no uploaded image -----------------------------

# Colours of the default badge, (light, dark), by what the credential is. The levels of a stack with
# levels (bronze → silver → gold → platinum) are told apart by colour, as badge platforms do. Every
# dark colour carries white text at a contrast of at least 4.5:1 (WCAG AA).
DEFAULT_COLOURS = {
    "credential": ("#1d5b8f", "#0a3055"),
    "stack": ("#0f766e", "#0b4f49"),
    1: ("#9a5b25", "#6b3a12"),  # bronze
    2: ("#6b7785", "#3f4752"),  # silver
    3: ("#a87d12", "#6b4e05"),  # gold
    4: ("#5f6f86", "#2f3a4b"),  # platinum, and any level above
}
DEFAULT_PREFIX = "default-"
# The raster copy of an SVG badge has the SVG's name and ".png" (a.svg → a.svg.png).
RASTER_SUFFIX = ".png"
RASTER_SIZE = 512  # pixels square: more than the 144 px social previews ask, small enough to stay light
_LINE_CHARS = 13  # characters per title line at the badge's font size
_TITLE_LINES = 3


def _wrap(text, width=_LINE_CHARS, lines=_TITLE_LINES):
    """The title in at most ``lines`` lines of about ``width`` characters; an ellipsis when cut."""
    words, result, current = text.split(), [], ""
    for word in words:
        while len(word) > width:  # a word longer than a line is broken
            if current:
                result.append(current)
                current = ""
            result.append(word[:width - 1] + "-")
            word = word[width - 1:]
        if current and len(current) + 1 + len(word) > width:
            result.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        result.append(current)
    if len(result) > lines:
        result = result[:lines]
        result[-1] = result[-1][:width - 1].rstrip() + "…"
    return result or [""]


def _xml_text(value):
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def default_badge_svg(title, org, level=None, is_stack=False) -> bytes:
    """
    The default badge of a credential: a hexagon in the colour of what it is (a level's colour for
    a stack with levels), its title and its organization. The same arguments give the same bytes.
    """
    light, dark = DEFAULT_COLOURS[min(level, 4) if level else ("stack" if is_stack else "credential")]
    title = " ".join(str(title).split())[:255]
    org = " ".join(str(org).split())[:40]
    lines = _wrap(title)
    size = 23 if max(len(line) for line in lines) <= 10 else 20
    first = 128 - (len(lines) - 1) * (size + 4) / 2 + size / 3
    tspans = "".join(f'<tspan x="128" y="{first + i * (size + 4):g}">{_xml_text(line)}</tspan>'
                     for i, line in enumerate(lines))
    level_text = f'<text x="128" y="62" font-size="13" font-weight="700" letter-spacing="2">LEVEL {level}</text>' \
        if level else ""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256" role="img">'
        f"<title>{_xml_text(title)} — {_xml_text(org)}</title>"
        f'<defs><linearGradient id="face" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{light}"/>'
        f'<stop offset="1" stop-color="{dark}"/></linearGradient></defs>'
        f'<polygon points="128,6 234,67 234,189 128,250 22,189 22,67" fill="url(#face)" stroke="{dark}" '
        'stroke-width="6"/>'
        '<polygon points="128,24 218,76 218,180 128,232 38,180 38,76" fill="none" stroke="#ffffff" '
        'stroke-opacity="0.55" stroke-width="2"/>'
        '<g fill="#ffffff" text-anchor="middle" font-family="DejaVu Sans, Verdana, Arial, sans-serif">'
        f"{level_text}"
        f'<text font-size="{size}" font-weight="700">{tspans}</text>'
        f'<text x="128" y="204" font-size="13">{_xml_text(org)}</text>'
        "</g></svg>"
    ).encode("utf-8")
    _check_svg(svg)  # through the uploads' rules: what is served as a badge is always what they allow
    return svg


def default_badge_name(svg: bytes) -> str:
    """The stored file name of a default badge: named by its content, so a new design is a new URL."""
    return f"{DEFAULT_PREFIX}{hashlib.sha256(svg).hexdigest()[:20]}.svg"


def is_default_badge_name(name: str) -> bool:
    """Whether a stored file name is a generated default badge's (not a designer's upload)."""
    return bool(_DEFAULT_NAME.fullmatch(name))


_DEFAULT_NAME = re.compile(re.escape(DEFAULT_PREFIX) + r"[0-9a-f]{20}\.svg")


def rasterizer_available() -> bool:
    """Whether SVG badges can be turned into PNG here (cairosvg and Debian's libcairo2 installed)."""
    return cairosvg is not None


def svg_to_png(svg: bytes, size=RASTER_SIZE) -> bytes:
    """
    A PNG of a badge SVG that passed the upload rules, ``size`` pixels wide. cairosvg is given no
    URL and no file access: the rules already allow only references inside the image and embedded
    rasters. Raises RuntimeError when no rasterizer is installed.
    """
    if cairosvg is None:
        raise RuntimeError("no SVG rasterizer: install openedx-microcred[png] and Debian's libcairo2")
    _check_svg(svg)
    return cairosvg.svg2png(bytestring=svg, output_width=size, unsafe=False)
