"""Give members written before the member indexes existed their index keys (a one-off, after deploying them).

`python -m infra.member_index_backfill` with the table's environment (TABLE_NAME, AWS_REGION and credentials, or
AWS_ENDPOINT_URL_DYNAMODB for a local table). It scans the table once for member items without a roster key
and sets their birthday, roster and joined keys from their own fields and their merchant's timezone; members
who visit meanwhile key themselves. Safe to run again: keyed members are skipped.
"""

from __future__ import annotations

import sys


def main() -> int:
    from loyalty.store import member_index
    from loyalty.store.merchants import get_merchant

    def timezone_of(merchant_id: str) -> str | None:
        merchant = get_merchant(merchant_id)
        return merchant.timezone if merchant else None

    keyed = member_index.add_missing_index_keys(timezone_of)
    print(f"{keyed} members given their member index keys", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
