"""The upload form of a document."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from ..forms import BaseForm


class DocumentForm(BaseForm):
    """One file to attach; its type and size are checked by ``services.documents``."""

    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
    )
