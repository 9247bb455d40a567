"""QR codes as inline SVG paths (vector, so they stay sharp at any print size)."""
from __future__ import annotations

import re
from functools import lru_cache

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_svg"]


@lru_cache(maxsize=4096)
def qr_svg(data: str) -> str:
    """SVG markup for `data`, sized by CSS (class "qr").

    Error correction M survives a scuffed or partly taped-over poster; the
    4-module quiet zone is what the standard asks for and phone scanners need.
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]
    svg = svg.replace(' id="qr-path"', "")  # one per poster: ids must stay unique in the document
    return re.sub(r'<svg width="[^"]+" height="[^"]+"', '<svg class="qr" role="img"', svg, count=1)
