"""The mail telling a paper's submitter that someone commented on it (off unless the operator switches it on).

Plain text only: the comment is quoted as the member wrote it (Markdown source), so nothing a
member typed is ever rendered as HTML in a mail.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

EXCERPT_CHARS = 1_000


def _one_line(value: str) -> str:
    # Header values come from member-typed text (titles, names): no line breaks may reach a header.
    return " ".join(value.split())


def compose_comment_notice(
    *,
    to: str,
    site_name: str,
    mail_from: str,
    paper_title: str,
    comment_url: str,
    commenter: str,
    body: str,
    is_reply: bool,
    now: dt.datetime,
) -> EmailMessage:
    """A text mail: who commented (or replied) on the paper you submitted, an excerpt and the link."""
    what = "replied in the discussion of" if is_reply else "commented on"
    excerpt = body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    quoted = "\n".join(f"> {line}" for line in excerpt.splitlines())
    message = EmailMessage()
    message["From"] = _one_line(mail_from)
    message["To"] = _one_line(to)
    message["Subject"] = _one_line(f"{commenter} {what} {paper_title}")[:200]
    message["Date"] = format_datetime(now.astimezone(dt.UTC))
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("comment", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"Hello,\n\n{commenter} {what} a paper you submitted to {site_name}, “{_one_line(paper_title)}”:\n\n"
        f"{quoted}\n\nRead and answer it here:\n{comment_url}\n\n"
        f"You get this mail because you submitted the paper.\n\n— {site_name}\n"
    )
    return message
