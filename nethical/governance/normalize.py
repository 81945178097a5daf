"""De-obfuscation that runs before every rule.

:func:`normalize` turns text into the form the rules read: Unicode NFKC (full-width and mathematical letters become
ASCII), zero-width and other invisible characters removed, bidi controls removed, Unicode tag characters (the
"ASCII smuggling" block U+E0000–U+E007F) turned back into the ASCII they hide, Cyrillic/Greek homoglyphs mapped to
the Latin letters they imitate, then lower-cased. It reports which tricks it undid, so the engine can report the
obfuscation itself. ASCII input takes a fast path (one ``str.isascii`` and one ``str.lower``).

:func:`deleet` maps leetspeak digits and symbols to letters (``1gn0r3`` → ``ignore``) and :func:`collapse_spaced`
joins letter-spaced words (``i g n o r e`` → ``ignore``); both produce extra *views* that keyword rules also read,
so the original digits stay intact for the PII validators. :func:`find_encoded` finds embedded base64, hex and
ROT13 payloads and decodes the ones that decode to readable text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from typing import NamedTuple

# zero-width, invisible formatting and filler characters (ZWJ U+200D and variation selectors are kept out of the
# "suspicious" set because emoji sequences use them, but they are still removed)
_INVISIBLE = [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180E, 0x200B,
              0x200C, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F,
              0x3164, 0xFEFF, 0xFFA0, 0x1D173, 0x1D174, 0x1D175, 0x1D176, 0x1D177, 0x1D178, 0x1D179, 0x1D17A]
_BIDI = [0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
_BENIGN_INVISIBLE = [0x200D] + list(range(0xFE00, 0xFE10)) + list(range(0xE0100, 0xE01F0))

_DELETE = {cp: None for cp in _INVISIBLE + _BIDI + _BENIGN_INVISIBLE}
_SUSPICIOUS_INVISIBLE = frozenset(chr(cp) for cp in _INVISIBLE)
_BIDI_CHARS = frozenset(chr(cp) for cp in _BIDI)
# tag characters U+E0020..U+E007E mirror ASCII 0x20..0x7E; U+E0001 and U+E007F are begin/cancel tags
_TAGS = {cp: chr(cp - 0xE0000) for cp in range(0xE0020, 0xE007F)}
_TAGS.update({0xE0001: None, 0xE007F: None})

# Cyrillic / Greek / other letters that render like Latin ones (after NFKC)
_HOMOGLYPHS_SRC = (
    "аеорсхуіјѕԁһӏԛԝвмнкт" "АВЕКМНОРСТХУІЈЅԌ"      # Cyrillic
    "αοερτυνικχβγηωϲϳ" "ΑΒΕΗΙΚΜΝΟΡΤΥΧΖ"          # Greek
    "ɑɡɩɪʟɴʀꞮ"                                     # Latin extensions / small capitals
)
_HOMOGLYPHS_DST = (
    "aeopcxyijsdhlqwbmhkt" "abekmhopctxyijsg"
    "aoeptuvikxbyhwcj" "abehikmnoptyxz"
    "agiilnri"
)
assert len(_HOMOGLYPHS_SRC) == len(_HOMOGLYPHS_DST)
_HOMOGLYPHS = str.maketrans(_HOMOGLYPHS_SRC, _HOMOGLYPHS_DST)
# regional indicator symbols (flag letters) spell words: 🇭🇴🇼 -> how
_HOMOGLYPHS.update({0x1F1E6 + i: chr(ord("a") + i) for i in range(26)})
_HOMOGLYPH_CHARS = frozenset(_HOMOGLYPHS_SRC)
_HOMOGLYPH_RE = re.compile("[" + re.escape(_HOMOGLYPHS_SRC) + "]")
_TAG_RE = re.compile("[\U000E0000-\U000E007F]")
_REGIONAL_RE = re.compile("[\U0001F1E6-\U0001F1FF]")
_TAG_RUN = re.compile("[\U000E0000-\U000E007F]+")
_LOOKALIKE_RE = re.compile("[" + re.escape(_HOMOGLYPHS_SRC) + "\U0001F1E6-\U0001F1FF]")
_DELETE_SUSPICIOUS = {cp: None for cp in _INVISIBLE}
_DELETE_BIDI = {cp: None for cp in _BIDI}

_LEET = str.maketrans({"_": " ", "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a",
                       "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"})
_LEET_CHARS = "0134578@$!|+_"
_LEET_L = dict(_LEET)
_LEET_L[ord("1")] = "l"
_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")

# i g n o r e / i.g.n.o.r.e / i-g-n-o-r-e (at least 4 single letters in a row, one separator kind)
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9](?:([ .\-_*])[a-z0-9])(?:\1[a-z0-9]){2,}(?![a-z0-9])")
_COMBINING_RUN = re.compile(r"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{3,}")

# everything the slow path of :func:`normalize` undoes before NFKC: tag characters, invisible and bidi
# characters, and combining marks (whose runs are zalgo text)
_ANY_SPECIAL = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _INVISIBLE + _BIDI + _BENIGN_INVISIBLE[:1])
                          + "\uFE00-\uFE0F\U000E0000-\U000E01EF"
                          + "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPECIAL_OR_LOOKALIKE = re.compile(_ANY_SPECIAL.pattern[:-1] + re.escape(_HOMOGLYPHS_SRC) + "\U0001F1E6-\U0001F1FF]")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9a-fA-Fx\\])(?:0x)?(?:[0-9a-fA-F]{2}){8,}(?![0-9a-fA-F])|(?:\\x[0-9a-fA-F]{2}){4,}")


class Normalized(NamedTuple):
    """The lower-cased, de-obfuscated text plus what was undone (a named tuple: one is built per scanned text, and
    a tuple costs a third to a half of a frozen dataclass to build: 0.34 µs against 0.75-0.94 µs).

    Attributes:
        text: the text the rules read.
        invisible: count of suspicious invisible characters removed (zero-width, fillers).
        bidi: count of bidi control characters removed.
        tags: text hidden in Unicode tag characters (decoded), or "".
        homoglyphs: True when a word mixed Latin letters with Cyrillic/Greek look-alikes.
        combining: True when a run of 3+ combining marks was found (zalgo text).
        changed: True when ``text`` differs from ``original.lower()`` beyond case.
    """

    text: str
    invisible: int = 0
    bidi: int = 0
    tags: str = ""
    homoglyphs: bool = False
    combining: bool = False
    changed: bool = False


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for the rules (see the module docstring). Linear in ``len(text)``."""
    if text.isascii():
        return Normalized(text.lower())
    if _SPECIAL_OR_LOOKALIKE.search(text) is None:  # common non-ASCII text (accents, curly quotes, emoji)
        if unicodedata.is_normalized("NFKC", text):
            return Normalized(_straight_quotes(text.lower()), changed=True)  # one regex pass and a C check
        out = unicodedata.normalize("NFKC", text)
        homoglyphs = False
        if _LOOKALIKE_RE.search(out) is not None:  # NFKC can produce one ("ϐ" -> "β")
            homoglyphs = _mixed_script(out)
            out = out.translate(_HOMOGLYPHS)
        return Normalized(_straight_quotes(out.lower()), homoglyphs=homoglyphs, changed=True)
    tags = ""
    if _TAG_RE.search(text) is not None:
        tags = "".join(_TAG_RE.findall(text)).translate(_TAGS)
        text = _TAG_RUN.sub(lambda m: " " + m.group(0).translate(_TAGS) + " ", text)
    stripped = text.translate(_DELETE)
    invisible = bidi = 0
    if len(stripped) != len(text):
        invisible = len(text) - len(text.translate(_DELETE_SUSPICIOUS))
        bidi = len(text) - len(text.translate(_DELETE_BIDI))
    combining = _COMBINING_RUN.search(stripped) is not None
    out = unicodedata.normalize("NFKC", stripped)
    if combining:
        out = "".join(ch for ch in unicodedata.normalize("NFD", out) if not unicodedata.combining(ch))
    homoglyphs = False
    if _HOMOGLYPH_RE.search(out) is not None or _REGIONAL_RE.search(out) is not None:
        homoglyphs = _mixed_script(out)
        out = out.translate(_HOMOGLYPHS)
    return Normalized(_straight_quotes(out.lower()), invisible, bidi, tags, homoglyphs, combining, True)


def _straight_quotes(low: str) -> str:
    """The typographic apostrophe (U+2019, "don’t") as the ASCII one the rules spell ("don't"); same length, so
    offsets are kept."""
    return low.replace("\u2019", "'") if "\u2019" in low else low


def _mixed_script(text: str) -> bool:
    """True when one word holds both ASCII letters and homoglyph letters (``pаypal`` with a Cyrillic ``а``)."""
    for word in text.split():
        has_ascii = has_glyph = False
        for ch in word:
            if ch in _HOMOGLYPH_CHARS:
                has_glyph = True
            elif "a" <= ch.lower() <= "z":
                has_ascii = True
            if has_ascii and has_glyph:
                return True
    return False


_LEET_NEAR_LETTER = re.compile(r"[a-z][0134578@$!|+_]|[0134578@$!|+_][a-z]")


def _class_table() -> tuple[bytes, bytes]:
    classes = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz":
        classes[c] = ord("a")
    for c in b"0123456789$|+":
        classes[c] = ord("1")
    classes[ord("@")] = ord("@")  # "@user" is a mention, "h@ck" leetspeak: only "@" after a letter counts
    classes[ord("!")] = ord("!")  # "wow!" is punctuation, "h!gh" leetspeak: only "!" between letters counts
    for c in b"-_*~^":
        classes[c] = ord("-")
    classes[ord(".")] = ord(".")
    classes[ord("/")] = ord("/")  # link paths ("t.co/1jl4hi8zmf") are ids, not prose
    classes[ord("'")] = ord("'")  # "i'm so" is not four spaced letters
    tokens = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789+/=_-\\":
        tokens[c] = ord("x")
    return bytes(classes), bytes(tokens)


_CLASSES, _TOKEN_CHARS = _class_table()


def _classify_non_ascii(err: UnicodeEncodeError) -> tuple[str, int]:
    """Codec error handler for :func:`char_classes`: one class character per non-ASCII character (a letter is
    ``a``, a digit or ``€``/``£`` is ``1``, a curly apostrophe ``'``, anything else a space), so offsets stay one to
    one."""
    chunk = err.object[err.start:err.end]
    return "".join("a" if ch.isalpha() else "1" if ch.isdigit() or ch in "€£" else "'" if ch in "’‘" else " "
                   for ch in chunk), err.end


codecs.register_error("nethical_char_class", _classify_non_ascii)


def char_classes(low: str) -> str:
    """``low`` as one character per class (``a`` letter, ``1`` digit or leet symbol, ``@``, ``!``, ``-`` in-word
    separator, ``.``, ``/``, ``'`` apostrophe, space for the rest), offset for offset, so prefilters are C-speed
    substring tests instead of regex scans."""
    return low.encode("ascii", "nethical_char_class").translate(_CLASSES).decode("ascii")


def has_mixed(classes: str) -> bool:
    """Cheap test on :func:`char_classes`: any :data:`_MIXED` spot (spelled out: no generator on the hot path)."""
    return "a1" in classes or "1a" in classes or "a-a" in classes or "a@" in classes or "a!a" in classes


def may_be_spaced(classes: str) -> bool:
    """Cheap prefilter for :func:`collapse_spaced`: four single characters in a row with one separator kind."""
    classes = classes.replace("1", "a")
    return "a a a a" in classes or "a.a.a.a" in classes or "a-a-a-a" in classes


def spaced_rewrites(low: str) -> list[str]:
    """The words :func:`collapse_spaced` rewrites, in their rewritten form (``i g n o r e`` → ``ignore``)."""
    return [re.sub(r"[ .\-_*]", "", m.group(0)) for m in _SPACED.finditer(low)]


def may_hold_numbers(classes: str) -> bool:
    """Cheap prefilter: three digits in a row or a ``digit.digit`` (everything the number validators look at)."""
    return "111" in classes or "1.1" in classes


def may_hold_payload(low: str, size: int = 16) -> bool:
    """Cheap prefilter: a run of ``size`` base64/hex characters."""
    return b"x" * size in low.encode("utf-8", "surrogatepass").translate(_TOKEN_CHARS)


# in :func:`char_classes` form: a letter next to a digit/leet symbol, "@"/"!" inside a word, a separator
# inside a word; the only places :func:`deleet` and :func:`join_split_words` rewrite something rules care about
_MIXED = ("a1", "1a", "a@", "a!a", "a-a")


def _mixed_tokens(low: str, classes: str, limit: int = 64) -> set[str]:
    """The tokens (runs of letters, digits, leet symbols and in-word separators) of ``low`` holding a mixed spot
    (:data:`_MIXED`), found with C-speed ``find`` calls on the class string."""
    runs = classes.replace(".", " ").replace("/", " ")
    n = len(runs)
    spans: set[tuple[int, int]] = set()
    find, rfind = runs.find, runs.rfind
    for pat in _MIXED:
        i = find(pat)
        while i != -1 and len(spans) < limit:
            start = rfind(" ", 0, i) + 1
            end = find(" ", i)
            end = n if end == -1 else end
            # "@user17" is a handle and "t.co/1jl4hi8zmf" a link id: neither is prose a model reads as instructions
            if classes[start] != "@" and (start == 0 or classes[start - 1] != "/"):
                spans.add((start, end))
            i = find(pat, end)
    return {low[s:e] for s, e in spans}


def rewritten_tokens(low: str, classes: str) -> tuple[list[str], list[str], list[str]]:
    """What the views would rewrite, token by token and in rewritten form: ``(deleet, deleet_l,
    join_split_words)``. A token made only of letters or only of digits is rewritten by none of them (a number
    alone is not leetspeak), so only the few mixed tokens are looked at."""
    leet: list[str] = []
    leet_l: list[str] = []
    joined: list[str] = []
    for tok in _mixed_tokens(low, classes):
        out = tok.translate(_LEET)
        if out != tok:
            leet.append(out)
            if "1" in tok:
                leet_l.append(tok.translate(_LEET_L))
        out = _INNER_SEP.sub("", tok)
        if out != tok:
            joined.append(out)
    return leet, leet_l, joined


def deleet(low: str) -> str:
    """Leetspeak view: ``1gn0r3 4ll`` → ``ignore all``. Returns ``low`` itself when no leet character touches a
    letter (``call 555-1234`` has digits but no leetspeak)."""
    if _LEET_NEAR_LETTER.search(low) is None:
        return low
    return low.translate(_LEET)


def deleet_l(low: str) -> str | None:
    """Second leetspeak view reading ``1`` as ``l`` (``ru13s`` → ``rules``); None when there is no ``1``."""
    if "1" not in low or _LEET_NEAR_LETTER.search(low) is None:
        return None
    return low.translate(_LEET_L)


_INNER_SEP = re.compile(r"(?<=[a-z])[\-_*~^](?=[a-z])")


def join_split_words(low: str) -> str | None:
    """Remove separators inside words (``ign-ore prev.ious`` → ``ignore previous``); None when there are none."""
    out = _INNER_SEP.sub("", low)
    return out if out != low else None


def collapse_spaced(low: str) -> str | None:
    """Join letter-spaced words (``i g n o r e`` → ``ignore``); None when there are none."""
    if _SPACED.search(low) is None:
        return None
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), low)


def rot13(low: str) -> str:
    return low.translate(_ROT13)


ROT13_HINTS = ("gur", "naq", "lbh", "vf", "bs", "gb", "vtaber", "cerivbhf", "vafgehpgvbaf", "flfgrz",
               "cnffjbeq", "lbhe", "rot13", "rot-13")
_ROT13_RE = re.compile(r"\b(?:" + "|".join(ROT13_HINTS) + r")\b")


def looks_rot13(low: str) -> bool:
    """Cheap test: the text mentions ROT13 or contains at least two common English words in their ROT13 form."""
    if "rot13" in low or "rot-13" in low:
        return True
    return len(_ROT13_RE.findall(low, 0, 4096)) >= 2


class Encoded(NamedTuple):
    """A decoded payload: ``kind`` (``base64`` | ``hex`` | ``rot13``), the ``span`` of the encoded text, ``text``."""

    kind: str
    span: tuple[int, int]
    text: str


def _readable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 6:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t\r")
    alnum = sum(1 for ch in text if ch.isalnum())
    if printable < 0.95 * len(text) or alnum < 0.6 * len(text) or " " not in text.strip():
        return None
    return text


def find_encoded(original: str, low: str, max_payloads: int = 8, max_len: int = 20_000,
                 rot13_hint: bool | None = None) -> list[Encoded]:
    """Embedded base64 / hex payloads (from ``original``, case matters) and a ROT13 reading (from ``low``)."""
    found: list[Encoded] = []
    if len(original) >= 16 and may_hold_payload(low):
        for m in _BASE64.finditer(original):
            if len(found) >= max_payloads:
                break
            s = m.group(0)
            if len(s) > max_len or s.isalpha() and (s.islower() or s.isupper()):
                continue  # one long word, not base64
            if not any(ch.isdigit() or ch in "+/=" for ch in s) and s.lower() == s:
                continue
            body = s.rstrip("=")
            try:
                raw = base64.urlsafe_b64decode(body.replace("+", "-").replace("/", "_") + "=" * (-len(body) % 4))
            except (binascii.Error, ValueError):
                continue
            text = _readable(raw)
            if text is not None:
                found.append(Encoded("base64", m.span(), text))
        if len(found) < max_payloads:
            for m in _HEX.finditer(original):
                if len(found) >= max_payloads:
                    break
                s = m.group(0)
                if len(s) > max_len:
                    continue
                body = s.replace("\\x", "")
                body = body[2:] if body[:2].lower() == "0x" else body
                try:
                    raw = bytes.fromhex(body)
                except ValueError:
                    continue
                text = _readable(raw)
                if text is not None:
                    found.append(Encoded("hex", m.span(), text))
    if rot13_hint if rot13_hint is not None else looks_rot13(low):
        found.append(Encoded("rot13", (0, len(low)), rot13(low)))
    return found

