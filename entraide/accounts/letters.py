"""Printable verification letters: one A4 page per pending member, to post or drop in the mailbox."""
from __future__ import annotations

import io

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from .actions import Letter


def letters_pdf(letters: list[Letter], *, site_url: str) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setTitle("Entraide")
    width, height = A4
    for letter in letters:
        member = letter.member
        with translation.override(member.language):
            # The window of a DL envelope: recipient name and the address they gave.
            pdf.setFont("Helvetica", 11)
            y = height - 50 * mm
            for line in [member.display_name, *member.address_text.split(",")]:
                pdf.drawString(110 * mm, y, line.strip())
                y -= 5 * mm
            pdf.setFont("Helvetica-Bold", 14)
            pdf.drawString(20 * mm, height - 100 * mm, _("Welcome to Entraide, %(name)s") % {"name": member.display_name})
            pdf.setFont("Helvetica", 11)
            text = pdf.beginText(20 * mm, height - 115 * mm)
            for line in [
                _("A neighbour signed up with this address on Entraide, the mutual-aid network of your neighbourhood."),
                _("To confirm that you live here, log in and type this code on the verification page:"),
            ]:
                text.textLine(line)
            pdf.drawText(text)
            pdf.setFont("Courier-Bold", 28)
            pdf.drawString(20 * mm, height - 140 * mm, f"{letter.code[:4]}-{letter.code[4:]}")
            pdf.setFont("Helvetica", 10)
            pdf.drawString(20 * mm, height - 155 * mm, f"{site_url}/verify/")
            pdf.drawString(20 * mm, height - 165 * mm,
                           _("If you did not sign up, ignore this letter: nothing happens without the code."))
        pdf.showPage()
    if not letters:
        pdf.drawString(20 * mm, height - 30 * mm, _("No pending member needs a letter."))
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
