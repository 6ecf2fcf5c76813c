"""QR images of URLs and tokens: SVG paths (no Pillow) and PNG through pypng."""

from __future__ import annotations

import io


def _qr_code(data: str):
    import qrcode  # deferred: only card, referral and counter-code replies draw QR codes

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(data: str) -> str:
    from qrcode.image.svg import SvgPathImage

    return _qr_code(data).make_image(image_factory=SvgPathImage).to_string(encoding="unicode")


def qr_png(data: str) -> bytes:
    from qrcode.image.pure import PyPNGImage

    buffer = io.BytesIO()
    _qr_code(data).make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()
