"""A bank statement exported as CSV, read into the money that came in, line by line.

Banks lay their exports out in their own ways. This finds the header row (banks often put the
account's details above it) by the column names in ``COLUMNS``, in English or Chinese, reads
UTF-8 (with or without a BOM) or GB18030 (what Chinese banks' exports use), and keeps the lines
that received money. Each app then looks in every line's message for its own references (invoice
numbers, workshop payment references), and records what staff confirm through its own payments
service: this module records nothing.
"""

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.utils.translation import gettext as _

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
HEADER_SEARCH_ROWS = 30

# Each field and the column names banks give it, compared without case or spaces.
COLUMNS = {
    "paid_on": (
        "date",
        "value date",
        "transaction date",
        "booking date",
        "交易日期",
        "日期",
        "记账日期",
        "入账日期",
    ),
    "amount": (
        "amount",
        "credit",
        "credit amount",
        "金额",
        "交易金额",
        "收入金额",
        "贷方金额",
        "贷方发生额",
        "收入",
    ),
    "text": (
        "reference",
        "memo",
        "description",
        "message",
        "details",
        "摘要",
        "附言",
        "用途",
        "备注",
        "交易附言",
    ),
    "payer": (
        "payer",
        "payer name",
        "counterparty",
        "付款人",
        "付款人名称",
        "对方户名",
        "对方账户名称",
        "对方名称",
    ),
}
REQUIRED = ("paid_on", "amount", "text")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%d/%m/%Y", "%d.%m.%Y")


class StatementError(ValueError):
    """The file cannot be read as a statement; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class StatementLine:
    row: int  # the line in the file, as a spreadsheet numbers it
    paid_on: date
    amount: Decimal
    payer: str
    text: str  # the transfer's message (附言 / 摘要)

    @property
    def payer_reference(self) -> str:
        """What is stored as the payment's payer's reference: who paid, and what they wrote."""
        return " ".join(f"{self.payer} {self.text}".split())[:200]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError(_("The file is neither UTF-8 nor GB18030 text: export the statement as CSV."))


def _normal(name: str) -> str:
    return "".join(name.split()).lower()


def _header(row: list[str]) -> dict[str, int] | None:
    names = [_normal(cell) for cell in row]
    found = {}
    for field, choices in COLUMNS.items():
        for choice in choices:
            if _normal(choice) in names:
                found[field] = names.index(_normal(choice))
                break
    return found if all(field in found for field in REQUIRED) else None


def _date(value: str) -> date | None:
    value = value.strip().split(" ")[0].split("T")[0]
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _amount(value: str) -> Decimal | None:
    cleaned = re.sub(r"[\s,¥￥]|CNY|RMB|元", "", value.strip(), flags=re.IGNORECASE)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def statement_read(data: bytes) -> list[StatementLine]:
    """The lines of a statement that received money, in file order; StatementError if it cannot be read."""
    if len(data) > MAX_BYTES:
        raise StatementError(_("The file is larger than 2 MB: export a shorter period."))
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    columns, start = None, 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = _header(row)
        if columns:
            start = index + 1
            break
    if not columns:
        raise StatementError(
            _("No header row with a date, an amount and a message column was found (e.g. %(names)s).")
            % {"names": "Date, Amount, Reference / 交易日期, 金额, 附言"}
        )
    if len(rows) - start > MAX_LINES:
        raise StatementError(
            _("The file has more than %(count)d lines: export a shorter period.") % {"count": MAX_LINES}
        )
    lines = []
    for index, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row=row) -> str:
            position = columns.get(field)
            return row[position].strip() if position is not None and position < len(row) else ""

        paid_on, amount = _date(cell("paid_on")), _amount(cell("amount"))
        if paid_on is None or amount is None:
            raise StatementError(
                _("Line %(row)d: “%(date)s” and “%(amount)s” are not a date and an amount.")
                % {"row": index, "date": cell("paid_on"), "amount": cell("amount")}
            )
        if amount > 0:  # money paid out is not a payment received
            lines.append(StatementLine(index, paid_on, amount, cell("payer"), cell("text")))
    return lines


# --- Carrying the lines from the upload to the confirmation ----------------------------

SALT = "bookings.statements"
MAX_AGE = 60 * 60  # an hour to look the matches over


def matches_sign(matches: list[dict]) -> str:
    """The matches shown to staff, signed into the confirmation form: what they confirm is what they saw."""
    return signing.dumps(matches, salt=SALT, compress=True)


def matches_unsign(value: str) -> list[dict]:
    try:
        return signing.loads(value, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as exc:
        raise StatementError(
            _("These matches are more than an hour old or were altered: upload the statement again.")
        ) from exc


def line_as_dict(line: StatementLine) -> dict:
    values = asdict(line)
    return {**values, "paid_on": line.paid_on.isoformat(), "amount": str(line.amount)}


def line_from_dict(values: dict) -> StatementLine:
    return StatementLine(
        row=values["row"],
        paid_on=date.fromisoformat(values["paid_on"]),
        amount=Decimal(values["amount"]),
        payer=values["payer"],
        text=values["text"],
    )
