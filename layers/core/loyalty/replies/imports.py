"""Member imports: the accepted upload, and an import's progress."""

from __future__ import annotations

from typing import Literal

from loyalty.replies.base import Instant, Reply


class ImportAccepted(Reply):
    """The file is kept and queued for import; GET .../imports/{importId} tells its progress.

    The same file with the same mapping, sent again, answers with the first import's id and imports nothing twice."""

    import_id: str


class RowError(Reply):
    row: int  # data rows count from 1; the header is not a row
    message: str


class ImportStatus(Reply):
    """An import's progress: rows of the file (blank rows aside), and how many were imported as new members,
    merged into existing ones or failed. errors lists the first 100 failed rows in row order; failed counts
    them all."""

    import_id: str
    status: Literal["queued", "running", "done"]
    rows: int
    imported: int
    merged: int
    failed: int
    errors: list[RowError]
    created_at: Instant
    finished_at: Instant | None
