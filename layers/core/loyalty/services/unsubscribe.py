"""One-click unsubscribe from a message's link: no login, one channel of one member, idempotent.

The pages are plain HTML (no script): the link works in any mail client's browser, and the page's one form
posts back to the same address, as RFC 8058 one-click unsubscribe does from the mail client itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape
from string import Template

from loyalty import telemetry
from loyalty.domain import unsubscribe
from loyalty.domain.errors import NotFound
from loyalty.domain.model import Member
from loyalty.domain.preferences import CHANNELS, EMAIL, UNSUBSCRIBE_LINK
from loyalty.server_keys import signing_key
from loyalty.services import clock, pages
from loyalty.services.member_plan import with_member_retries
from loyalty.services.merchants import load_merchant
from loyalty.services.preferences import consent_update, consents
from loyalty.store import members as store

_NOT_VALID = "This unsubscribe link is not valid."
_BY_CHANNEL = {EMAIL: "by email"}


@dataclass(frozen=True)
class Page:
    status: int
    html: str


def landing_page(token: str) -> Page:
    """The page a link opens: whose messages, which channel, and one button; it changes nothing."""
    try:
        member, channel = _member_of(token)
    except NotFound:
        return _not_found()
    merchant = load_merchant(member.merchant_id).name
    how = _BY_CHANNEL.get(channel, "by text message")
    if not consents(member)[channel]:
        return _page("You are unsubscribed", f"{merchant} does not send you offers {how}.")
    return _page(f"Stop offers {how}?", f"You get offers from {merchant} {how}. Press the button to stop them.",
                 form='<form method="post"><button type="submit">Unsubscribe</button></form>')


def unsubscribe_page(token: str) -> Page:
    """Withdraw the channel's consent and log it; a second click changes and logs nothing."""
    try:
        member, channel = _member_of(token)
    except NotFound:
        return _not_found()
    screened = [member]

    def build(current: Member) -> None:
        update, log = consent_update(current, {channel: False}, clock.now(), UNSUBSCRIBE_LINK)
        if update.set:
            store.change_profile(update, log)
            telemetry.count("Unsubscribed")

    with_member_retries(lambda: screened.pop() if screened else _reload(member.member_id), build)
    merchant = load_merchant(member.merchant_id).name
    return _page("You are unsubscribed",
                 f"{merchant} will not send you offers {_BY_CHANNEL.get(channel, 'by text message')} any more.")


def _member_of(token: str) -> tuple[Member, str]:
    """The member and channel the token was signed for; anything else (forged, erased member) is not found."""
    try:
        merchant_id, member_id, channel = unsubscribe.read(token, signing_key())
    except unsubscribe.InvalidToken:
        raise NotFound(_NOT_VALID) from None
    member = store.get_member(member_id) if channel in CHANNELS else None
    if member is None or member.merchant_id != merchant_id:
        raise NotFound(_NOT_VALID)
    return member, channel


def _reload(member_id: str) -> Member:
    member = store.get_member(member_id)
    if member is None:
        raise NotFound(_NOT_VALID)
    return member


@cache
def _template() -> Template:
    return Template(pages.template("unsubscribe_page.html"))


def _page(title: str, message: str, *, form: str = "", status: int = 200) -> Page:
    note = "You can turn offers on again from your loyalty card's preferences." if not form else ""
    html = _template().substitute(title=escape(title), message=escape(message), form=form, note=escape(note))
    return Page(status, html)


def _not_found() -> Page:
    return _page(_NOT_VALID, "It may have been copied only in part. Open it again from the message you received.",
                 status=404)
