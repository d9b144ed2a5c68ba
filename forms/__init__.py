"""Paper forms and receipts: pure components, no chat platform in sight.

* :mod:`forms.render` — the notice's forms filled in, as DOCX and print-ready PDF;
* :mod:`forms.receipts` — signed receipts (回执) anyone can verify with the organiser's public key;
* :mod:`forms.verify` — checking a receipt against that key.

Importing this package loads neither WeasyPrint nor any key; both come on first use.
"""

from __future__ import annotations

from forms.layout import LayoutError
from forms.receipts import Receipt, issue_receipt
from forms.render import (
    RenderedForm,
    render_district_list,
    render_district_list_async,
    render_form,
    render_form_async,
)
from forms.sheet import FormError
from forms.verify import Verification, verify_receipt

__all__ = [
    "FormError",
    "LayoutError",
    "Receipt",
    "RenderedForm",
    "Verification",
    "issue_receipt",
    "render_district_list",
    "render_district_list_async",
    "render_form",
    "render_form_async",
    "verify_receipt",
]
