"""Personal data (privacy) detectors: validated, not just pattern-matched.

* credit cards: 13–19 digits (optionally grouped by spaces or dashes), a known issuer prefix (IIN) and a valid Luhn
  checksum; a Luhn-invalid number is never reported as a card.
* US social security numbers: ``AAA-GG-SSSS`` with the SSA rules (area not 000, 666 or 900–999, group not 00,
  serial not 0000); nine bare digits only next to a context word (``ssn``, ``social security``). Numbers the SSA
  voided after they were published (078-05-1120, 219-09-9999, 123-45-6789, ...) are reported with low confidence and
  only next to a context word, because text that presents them as an SSN still discloses "an SSN" to a reader.
* IP addresses: parsed by :mod:`ipaddress`; dotted quads that are part of a longer dotted run (``1.2.3.4.5``) or that
  follow ``v``/``version``/``release`` are version strings, not addresses; private/loopback ranges get a lower
  confidence than public ones.
* phone numbers: candidates found by one linear regex, then parsed and checked by :mod:`phonenumbers` (international
  formats with ``+``/``00`` prefixes, US default region); a bare 10/11-digit run needs a context word.
* e-mail addresses: RFC-5322-ish local part, a dotted domain with an alphabetic TLD.

Every detector is guarded by a cheap prefilter (``'@' in text``, a digit run) so text without digits or ``@`` costs
almost nothing. Evidence is redacted (``card ****-****-****-8614``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Iterator

import phonenumbers

from nethical.governance.violation import Violation

# ---------------------------------------------------------------------------------------------- validators


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) checksum."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """Card network for an issuer prefix and length, or None when no network uses that prefix/length."""
    n = len(digits)
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    p2, p4, p6 = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= p6 <= 622925) and 16 <= n <= 19:
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    if p2 in (50, 56, 57, 58) or p2 == 63 or p2 == 67:
        return "maestro" if 12 <= n <= 19 else None
    return None


# Numbers the SSA lists as invalid or voided after publication (advertising, wallet inserts, examples).
KNOWN_INVALID_SSNS = frozenset({"078051120", "219099999", "123456789", "111111111", "333333333", "457555462"})


def ssn_structure_valid(area: str, group: str, serial: str) -> bool:
    """SSA structural rules: area not 000/666/900-999, group not 00, serial not 0000."""
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


# ---------------------------------------------------------------------------------------------- redaction


def mask_email(addr: str) -> str:
    local, _, domain = addr.partition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    return f"{local[:1]}***@{labels[0][:1]}***.{tld}"


def mask_digits(raw: str, keep: int = 4) -> str:
    """Replace every digit but the last ``keep`` with ``*``, keeping separators (``****-****-****-8614``)."""
    total = sum(ch.isdigit() for ch in raw)
    seen = 0
    out = []
    for ch in raw:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


# ---------------------------------------------------------------------------------------------- patterns

_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.){1,8}[a-z]{2,24}(?![\w-])")
# one linear pass for every number-like run: digits with spaces, dots, dashes, slashes, parentheses, leading +
_NUMBERISH = re.compile(r"(?<![\w.])(?:\+|00)?\(?\d[\d().\-/ ]{4,30}+")
_DOTTED_QUAD = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_SSN = re.compile(r"(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")

# prefilters that start on a literal (fast to scan for): an e-mail needs "@label." and an IPv6 address two
# colons with at most four hex digits between them ("::" or ":0db8:"); "@user" mentions and "rt @user: hi" need
# neither regex run
_EMAIL_HINT = re.compile(r"@[a-z0-9-]+\.[a-z]")
_IPV6_HINT = re.compile(r":[0-9a-f]{0,4}:")
# anything _numbers could report has 9+ digits or is a dotted quad: both contain 3 digits in a row or "d.d"
_PREFILTER = re.compile(r"\d\d\d|\d\.\d")
_SSN_CONTEXT = ("ssn", "social security", "social-security", "soc sec", "ss#", "ss #", "taxpayer", "tin")
_PHONE_CONTEXT = ("phone", "call", "cell", "mobile", "tel", "number", "dial", "text", "whatsapp", "contact", "reach",
                  "fax", "sms", "ring", "landline", "telephone", "ph", "mob")
_CARD_CONTEXT = ("card", "visa", "mastercard", "amex", "credit", "debit", "cc", "cvv", "exp", "expiry", "payment",
                 "charge", "pay")
_NOT_CARD_CONTEXT = ("order", "invoice", "tracking", "reference", "ref", "serial", "isbn", "imei", "account no",
                     "confirmation", "booking", "ticket", "transaction id", "customer id", "id", "barcode", "sku")
_IP_CONTEXT = ("ip", "address", "server", "host", "logged in", "connect", "login", "from")
_VERSION_CONTEXT = ("version", "v", "ver", "release", "build", "rev", "firmware", "python", "node", "chrome",
                    "windows", "kernel", "update", "patch", "upgrade", "sdk", "api")


_NON_DIGITS = {ord(ch): None for ch in "().-/ +"}


def _context(low: str, start: int, end: int, words: tuple[str, ...], before: int = 40, after: int = 20) -> bool:
    window = low[max(0, start - before):start] + " " + low[end:end + after]
    for w in words:
        i = window.find(w)
        while i != -1:
            left_ok = i == 0 or not window[i - 1].isalnum()
            j = i + len(w)
            right_ok = j >= len(window) or not window[j].isalpha()
            if left_ok and right_ok:
                return True
            i = window.find(w, i + 1)
    return False


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


# ---------------------------------------------------------------------------------------------- detectors


def detect_pii(low: str, max_candidates: int = 200, numbers: bool | None = None) -> list[Violation]:
    """All privacy violations in ``low`` (already normalised and lower-cased). Cost is linear in ``len(low)``.

    ``numbers=False`` skips the number validators (the caller's prefilter found no digit run); None decides here.
    """
    found: list[Violation] = []
    if "@" in low and _EMAIL_HINT.search(low) is not None:
        for k, m in enumerate(_EMAIL.finditer(low)):
            if k >= max_candidates:
                break
            addr = m.group(0)
            found.append(Violation("privacy", "pii_email", "medium", 0.95, m.span(), f"email {mask_email(addr)}"))
    if ":" in low and low.count(":") >= 2 and _IPV6_HINT.search(low) is not None:
        for k, m in enumerate(_IPV6.finditer(low)):
            if k >= max_candidates:
                break
            found.extend(_ipv6(m))
    if numbers if numbers is not None else _PREFILTER.search(low) is not None:
        found.extend(_numbers(low, max_candidates))
    return found


def _ipv6(m: re.Match) -> Iterator[Violation]:
    raw = m.group(0)
    if raw.count(":") < 2 or ("::" not in raw and raw.count(":") != 7):
        return
    if sum(len(g) for g in raw.split("%")[0].split(":")) < 5:
        return  # "a::b" (C++ scope), "::": too short to be an address anyone writes down
    try:
        addr = ipaddress.IPv6Address(raw.split("%")[0])
    except ValueError:
        return
    public = addr.is_global
    yield Violation("privacy", "pii_ip_address", "medium" if public else "low", 0.9 if public else 0.6, m.span(),
                    f"ipv6 {raw.split(':')[0]}:****")


def _numbers(low: str, max_candidates: int) -> list[Violation]:
    found: list[Violation] = []
    taken: list[tuple[int, int]] = []
    # IP addresses first: a dotted quad must not be read as a phone number
    if "." in low:
        for k, m in enumerate(_DOTTED_QUAD.finditer(low)):
            if k >= max_candidates:
                break
            v = _ipv4(low, m)
            taken.append(m.span())
            if v is not None:
                found.append(v)
    for k, m in enumerate(_NUMBERISH.finditer(low)):
        if k >= max_candidates:
            break
        raw = m.group(0).rstrip(" .-/(")
        start = m.start()
        end = start + len(raw)
        if _overlaps((start, end), taken):
            continue
        digits = raw.translate(_NON_DIGITS)
        if len(digits) < 9:
            continue
        v = _card(low, raw, start, digits) or _ssn(low, raw, start) or _phone(low, raw, start, digits)
        if v is not None:
            found.append(v)
            taken.append(v.span)
    return found


def _ipv4(low: str, m: re.Match) -> Violation | None:
    start, end = m.span()
    octets = m.groups()
    if any(len(o) > 1 and o[0] == "0" for o in octets):
        return None  # leading zeros: not how addresses are written (and ambiguous octal)
    try:
        addr = ipaddress.IPv4Address(m.group(0))
    except ValueError:
        return None
    before = low[max(0, start - 12):start]
    if before.endswith(("v", "v.", "version ", "ver ", "ver. ")) or _context(low, start, end, _VERSION_CONTEXT, 16, 0):
        if not _context(low, start, end, ("ip",), 24, 0):
            return None
    if addr.is_unspecified or addr.is_multicast or addr.is_reserved:
        return None
    public = addr.is_global
    conf = 0.9 if public else 0.55
    if _context(low, start, end, _IP_CONTEXT):
        conf = min(0.97, conf + 0.05)
    return Violation("privacy", "pii_ip_address", "medium" if public else "low", conf, (start, end),
                     f"ipv4 {octets[0]}.***.***.***")


def _card(low: str, raw: str, start: int, digits: str) -> Violation | None:
    m = _CARD.search(raw)
    if m is None:
        return None
    cand = m.group(0)
    d = cand.replace(" ", "").replace("-", "")
    if not 13 <= len(d) <= 19 or not luhn_valid(d):
        return None
    seps = {ch for ch in cand if not ch.isdigit()}
    if len(seps) > 1:
        return None
    issuer = card_issuer(d)
    context = _context(low, start + m.start(), start + m.end(), _CARD_CONTEXT)
    if issuer is None and not context:
        return None
    if not context and _context(low, start + m.start(), start + m.end(), _NOT_CARD_CONTEXT, 24, 0):
        return None  # "order number 4000...": a Luhn-valid identifier named as something else
    conf = 0.97 if (issuer and context) else 0.9 if issuer else 0.75
    span = (start + m.start(), start + m.end())
    return Violation("privacy", "pii_credit_card", "high", conf, span,
                     f"card {mask_digits(cand)} ({issuer or 'unknown issuer'}, Luhn valid)")


def _ssn(low: str, raw: str, start: int) -> Violation | None:
    m = _SSN.fullmatch(raw) or _SSN.match(raw)
    if m is None:
        return None
    area, sep, group, serial = m.groups()
    s, e = start + m.start(), start + m.end()
    context = _context(low, s, e, _SSN_CONTEXT, 48, 8)
    if not sep and not context:
        return None
    if not ssn_structure_valid(area, group, serial):
        return None
    masked = f"***-**-{serial}"
    if area + group + serial in KNOWN_INVALID_SSNS:
        if not context:
            return None
        return Violation("privacy", "pii_ssn", "medium", 0.6, (s, e), f"ssn {masked} (a voided/example number)")
    conf = 0.97 if context else 0.8
    return Violation("privacy", "pii_ssn", "high", conf, (s, e), f"ssn {masked}")


def _phone(low: str, raw: str, start: int, digits: str) -> Violation | None:
    if len(digits) > 15:
        return None
    intl = raw.startswith(("+", "00"))
    formatted = any(ch in raw for ch in " -.()")
    context = _context(low, start, start + len(raw), _PHONE_CONTEXT)
    if not intl and not formatted and not context:
        return None  # a bare digit run (order id, timestamp) is not a phone number without a context word
    if "/" in raw or raw.count(".") > 3:
        return None
    # digit groups must look like phone groups, not a list of small numbers or a date
    groups = [g for g in re.split(r"[^\d]+", raw) if g]
    if sum(len(g) < 2 for g in groups) > 1 or len(groups) > 6:
        return None
    parsed = _parse_phone("+" + raw.lstrip("+0") if raw.startswith("00") else raw, None if intl else "US")
    if parsed is None:
        return None
    valid, country_code = parsed
    if not valid and not context:
        return None
    conf = 0.95 if (valid and (context or intl)) else 0.85 if valid else 0.65
    return Violation("privacy", "pii_phone", "medium", conf, (start, start + len(raw)),
                     f"phone {mask_digits(raw, 2)} (+{country_code})")


@functools.lru_cache(maxsize=8192)
def _parse_phone(number: str, region: str | None) -> tuple[bool, int] | None:
    """``(is_valid, country_code)`` for a possible phone number, None for an impossible one. :mod:`phonenumbers`
    parsing is the costliest step of a scan and a pure function of its input; numbers recur in real data (a spam
    campaign repeats its number), so the result is memoised."""
    try:
        num = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.is_valid_number(num), num.country_code
