"""Print-ready PDF: a jinja2 HTML template drawn by WeasyPrint with the Noto CJK fonts embedded.

Blocking and CPU-bound (about a third of a second per form): call it from a worker thread
(:func:`forms.render.render_form_async` does).  Renders are serialised by a lock: WeasyPrint
goes through Pango, fontconfig and HarfBuzz, whose thread safety it does not promise, and the
GIL would serialise most of the work anyway.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from forms.fonts import common_faces, require_fonts
from forms.overlay import Skeleton, skeleton
from forms.pdf_objects import deflate_streams
from forms.qr import QR_SRC, QRDrawing, qr_svg_uri
from forms.sheet import Sheet
from forms.stand_ins import MOST_LINES_ADDED, Taller, Unfit, shape, values

_RENDER_LOCK = threading.Lock()  # see the module docstring
log = logging.getLogger(__name__)


@functools.cache
def template_env() -> jinja2.Environment:
    """The package's templates, autoescaped (HTML) and strict about undefined names."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("forms", "templates"),
        autoescape=True,  # every template here is HTML: values are text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


@functools.cache
def stylesheet(name: str) -> Markup:
    """A stylesheet of the package, marked safe: it is our own file, and autoescaping would
    turn its quotes into entities that CSS inside ``<style>`` does not decode."""
    return Markup(resources.files("forms").joinpath("templates", name).read_text(encoding="utf-8"))


def sheet_html(sheet: Sheet, *, qr_uri: str | None = None, inline_css: bool = True) -> str:
    """The HTML of a filled-in form (what :func:`html_to_pdf` draws), its QR code an SVG unless
    ``qr_uri`` names another image, its stylesheet inside unless not ``inline_css`` (then
    :func:`html_to_pdf` is given it)."""
    if qr_uri is None:
        qr_uri = qr_svg_uri(sheet.qr_text) if sheet.qr_text else ""
    css = stylesheet("form.css") if inline_css else ""
    return template_env().get_template("form.html.j2").render(sheet=sheet, css=css, qr_uri=qr_uri)


@functools.cache
def font_config() -> Any:
    """This process's WeasyPrint font configuration, knowing the common characters' faces
    (:func:`forms.fonts.common_faces`) that the stylesheets name first.  Made on the first
    PDF (a few seconds: the faces are cut then) and kept: every PDF after it reuses the faces
    and fontconfig's setup."""
    import weasyprint  # type: ignore[import-untyped]  # bench/bench_cli.py: 1.5 s to import
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    config = FontConfiguration()
    with tempfile.TemporaryDirectory(prefix="kepu-faces-") as folder:
        rules = []
        for n, face in enumerate(common_faces()):
            path = Path(folder) / f"{n}.otf"
            path.write_bytes(face.data)
            rules.append(
                f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
                f'src: url("{path.as_uri()}"); }}'
            )
        # Our own files only; the documents' fetcher still loads nothing but data: URIs.
        # WeasyPrint copies each face into its own folder, so this one can go.
        fetcher = weasyprint.URLFetcher(allowed_protocols=("file",), fail_on_errors=False)
        weasyprint.CSS(string="\n".join(rules), font_config=config, url_fetcher=fetcher)
    return config


def _deflate(document: Any, pdf: Any) -> None:
    """WeasyPrint's finisher: the streams deflated at :data:`forms.pdf_objects.DEFLATE_LEVEL`."""
    deflate_streams(pdf.objects)


@functools.cache
def parsed_stylesheet(name: str) -> Any:
    """A stylesheet of the package parsed by WeasyPrint, once a process.

    bench/README.md 'Documents at the deadline': parsing the stylesheet inside each document
    cost ~3 ms a PDF.  Given to WeasyPrint beside the document it is a *user* stylesheet, not
    an author's: the same result here, where the only author rules are ``style`` attributes,
    which won over the stylesheet's rules either way (tests/test_form_looks.py)."""
    import weasyprint

    return weasyprint.CSS(string=str(stylesheet(name)), font_config=font_config())


def html_to_pdf(
    html: str,
    attachments: dict[str, bytes] | None = None,
    images: dict[str, Any] | None = None,
    stylesheets: tuple[str, ...] = (),
) -> bytes:
    """Draw ``html`` as PDF.  Nothing outside the document is fetched: only ``data:`` URIs
    load, so neither a template slip nor a value can make the renderer read a local file or
    the network.  ``images``: WeasyPrint images by ``src``, drawn without being fetched (a
    :class:`forms.qr.QRDrawing` under :data:`forms.qr.QR_SRC`); ``stylesheets``: the package's
    stylesheets by name (:func:`parsed_stylesheet`), for HTML that does not hold them."""
    require_fonts()
    # Its INFO "Step 1 … Step 7" lines (on import, then per document) would drown the log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    import weasyprint  # bench/bench_cli.py: 1.5 s to import

    # A refused URL is skipped with a logged warning, not raised: WeasyPrint's fatal fetch
    # error derives from BaseException and would tear through the caller's error handling.
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=False)
    options: dict[str, Any] = {"cache": dict(images or {})}
    if attachments:
        options["attachments"] = [
            weasyprint.Attachment(string=data, name=name, url_fetcher=fetcher)
            for name, data in attachments.items()
        ]
    with _RENDER_LOCK:  # parsing goes through Pango and fontconfig too (the first time, the faces)
        options["stylesheets"] = [parsed_stylesheet(name) for name in stylesheets]
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None)
        pdf = document.write_pdf(font_config=font_config(), finisher=_deflate, **options)
    assert isinstance(pdf, bytes)
    return pdf


def full_sheet_pdf(sheet: Sheet) -> bytes:
    """The whole document drawn by WeasyPrint (what :func:`sheet_pdf` falls back to)."""
    images = {QR_SRC: QRDrawing(sheet.qr_text)} if sheet.qr_text else {}
    html = sheet_html(sheet, qr_uri=QR_SRC, inline_css=False)
    return html_to_pdf(html, images=images, stylesheets=("form.css",))


def skeleton_of(html: str, stylesheet_name: str, qr: QRDrawing | None, extra: dict[int, int]) -> Skeleton:
    """The skeleton of ``html`` (:class:`forms.overlay.Skeleton`), drawn with the package's
    stylesheet ``stylesheet_name``.  Call it holding the render lock (:func:`set_over` does)."""
    require_fonts()
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    images = {QR_SRC: qr} if qr is not None else {}
    stylesheets = [parsed_stylesheet(stylesheet_name)]
    return Skeleton(html, images=images, stylesheets=stylesheets, font_config=font_config(), extra=extra)


def set_over(
    key: Any,
    make: Callable[[dict[int, int]], Skeleton],
    texts: list[str],
    qr: QRDrawing | None,
    *,
    attachments: dict[str, bytes] | None = None,
    title: str | None = None,
) -> bytes | None:
    """``texts`` set over the skeleton kept under ``key`` (made by ``make(extra)``, ``extra``
    the lines the values take beyond their stand-ins': :class:`forms.stand_ins.Taller`), or
    None when they do not fit (the caller draws the whole document)."""
    with _RENDER_LOCK:
        last = _last_extra()
        extra = last.get(key, {})  # a deadline's values are mostly of the same lengths
        for _ in range(2):  # the second time with a skeleton of as many lines as the values take
            lines = tuple(sorted(extra.items()))
            kept = skeleton((key, lines), lambda: make(extra))  # noqa: B023 - called at once
            if kept is None:
                return None
            try:
                pdf = kept.pdf(texts, qr, attachments, title=title)
            except Taller as taller:
                if sum(taller.extra.values()) > MOST_LINES_ADDED:
                    return None
                extra = taller.extra
                continue
            except Unfit:
                return None
            except Exception:  # WeasyPrint's internals, used here, changed: the whole drawing
                # Logged once per kept skeleton (its shape), not once per submission of it.
                if not kept.error_logged:
                    kept.error_logged = True
                    log.exception("values not set over their skeleton; drawing the whole documents")
                else:
                    log.debug("values not set over their skeleton (logged before)", exc_info=True)
                return None
            if len(last) > 256:
                last.clear()
            last[key] = extra
            return pdf
    return None


@functools.cache
def _last_extra() -> dict[Any, dict[int, int]]:
    """This process's lines added to the values' stand-ins in the skeleton last used for a key
    of :func:`set_over`: tried first (bench/README.md 'Documents in a tenth of a second');
    made on the first drawing, not at import."""
    return {}


def sheet_pdf(sheet: Sheet) -> bytes:
    """The form as PDF: the entrant's words set over its shape's skeleton
    (:mod:`forms.overlay`) when they fit, else the whole document drawn."""
    qr = QRDrawing(sheet.qr_text) if sheet.qr_text else None

    def make(extra: dict[int, int]) -> Skeleton:
        html = sheet_html(shape(sheet, extra), qr_uri=QR_SRC, inline_css=False)
        return skeleton_of(html, "form.css", qr, extra)

    fast = set_over(("form", shape(sheet)), make, values(sheet), qr)
    return fast if fast is not None else full_sheet_pdf(sheet)
