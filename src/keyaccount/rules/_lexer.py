"""Tokens of the condition language.

Numbers (``1_000_000``, ``0.5``, ``1e-3``), names, quoted product ids
(``'court_express'``), ``( ) ,``, ``+ - * /``, ``< <= > >= == !=`` and the words
``and or not true false`` (in any case). Anything else is a
:class:`~keyaccount.exceptions.RuleSyntaxError` at its position.

Numbers are bounded before any value is computed, so that a hostile literal is
refused in microseconds: digits are ASCII ``0-9`` only (a fullwidth ``１`` or an
Arabic-Indic ``٣`` is refused by name), a number is at most
:data:`MAX_NUMBER_CHARACTERS` characters long (``_``, ``.`` and the exponent
included) and its exponent is at most :data:`MAX_EXPONENT` in magnitude. Names
are ASCII letters, digits and ``_``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import NamedTuple

from keyaccount.exceptions import RuleSyntaxError, shorten

__all__ = ["MAX_EXPONENT", "MAX_NUMBER_CHARACTERS", "Token", "TokenKind", "tokenize"]

MAX_NUMBER_CHARACTERS = 40
"""The longest number literal, in characters (digits, ``_``, ``.`` and exponent)."""

MAX_EXPONENT = 99
"""The largest exponent magnitude of a number literal (``1e99``, ``1e-99``)."""


class TokenKind(enum.Enum):
    """What a token is."""

    NUMBER = "number"
    NAME = "name"
    STRING = "string"
    KEYWORD = "keyword"
    OP = "operator"
    CMP = "comparison"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    END = "end of condition"


class Token(NamedTuple):
    """A token: its kind, text (a keyword in lower case) and offsets in the condition."""

    kind: TokenKind
    text: str
    start: int
    end: int


KEYWORDS = frozenset({"and", "or", "not", "true", "false"})

_DIGITS = "0123456789"
_NUMBER = re.compile(r"[0-9](?:_?[0-9])*(?:\.[0-9](?:_?[0-9])*)?(?:[eE]([+-]?[0-9]+))?")
# a number is matched within a window a little longer than the longest allowed,
# so that a ten-million-digit literal costs no more than a short one
_WINDOW = MAX_NUMBER_CHARACTERS + 8
_WORD = re.compile(r"[\w.]+(?:(?<=[eE])[+-][\w.]*)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_TWO = {">=": TokenKind.CMP, "<=": TokenKind.CMP, "==": TokenKind.CMP, "!=": TokenKind.CMP}
_ONE = {
    "<": TokenKind.CMP,
    ">": TokenKind.CMP,
    "+": TokenKind.OP,
    "-": TokenKind.OP,
    "*": TokenKind.OP,
    "/": TokenKind.OP,
    "(": TokenKind.LPAREN,
    ")": TokenKind.RPAREN,
    ",": TokenKind.COMMA,
}
_HINTS = {
    "=": "use '==' to compare for equality",
    "<>": "use '!=' for 'not equal'",
    "&&": "use 'and'",
    "||": "use 'or'",
    "!": "use 'not'",
    "&": "use 'and'",
    "|": "use 'or'",
}


# The tokens of a well-formed condition, in one regular expression: a number not
# followed by a word character or "." (else it is malformed), a name, a quoted
# string on one line, a comparison (not "<>"), an operator or punctuation. Text
# it does not scan completely goes through the character-by-character loop of
# :func:`tokenize`, which gives the same tokens or the error. Each part of a
# number is matched at most MAX_NUMBER_CHARACTERS long, so that a number of
# millions of digits fails at once instead of being read to its end.
_FAST = re.compile(
    r"""\s*(?:
      (?P<number>[0-9](?:_?[0-9]){0,39}(?:\.[0-9](?:_?[0-9]){0,39})?(?:[eE][+-]?[0-9]{1,40})?)
        (?![\w.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | '(?P<single>[^'\n]*)'
    | "(?P<double>[^"\n]*)"
    | (?P<cmp>[<>=!]=|<(?!>)|>)
    | (?P<op>[-+*/])
    | (?P<lparen>\()
    | (?P<rparen>\))
    | (?P<comma>,)
    )""",
    re.VERBOSE,
)
assert MAX_NUMBER_CHARACTERS == 40  # the bounds in _FAST
_FAST_KINDS = {
    "cmp": TokenKind.CMP,
    "op": TokenKind.OP,
    "lparen": TokenKind.LPAREN,
    "rparen": TokenKind.RPAREN,
    "comma": TokenKind.COMMA,
}
_REST_IS_SPACE = re.compile(r"\s*\Z")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token.

    Raises:
        RuleSyntaxError: a character or number that the language does not have.
    """
    tokens = _scan(text)
    return _tokenize(text) if tokens is None else tokens


def _scan(text: str) -> list[Token] | None:
    """:func:`tokenize` of a well-formed condition, or ``None`` for anything unusual.

    One regular-expression match per token; ``None`` (never an error) where the
    text is not a clean sequence of tokens, or holds a number that is too long
    or has too large an exponent: :func:`_tokenize` then finds the problem.
    """
    tokens: list[Token] = []
    append = tokens.append
    match = _FAST.match
    pos = 0
    while (m := match(text, pos)) is not None:
        group = m.lastgroup
        pos = m.end()
        if group == "name":
            word = m.group(group)
            start = pos - len(word)
            lowered = word.lower()
            if lowered in KEYWORDS:
                append(Token(TokenKind.KEYWORD, lowered, start, pos))
            else:
                append(Token(TokenKind.NAME, word, start, pos))
        elif group == "number":
            number = m.group(group)
            if len(number) > MAX_NUMBER_CHARACTERS:
                return None
            cut = max(number.find("e"), number.find("E"))
            if cut >= 0 and abs(int(number[cut + 1 :])) > MAX_EXPONENT:
                return None
            append(Token(TokenKind.NUMBER, number, pos - len(number), pos))
        elif group == "single" or group == "double":
            append(Token(TokenKind.STRING, m.group(group), m.start(group) - 1, pos))
        else:
            assert group is not None
            op = m.group(group)
            append(Token(_FAST_KINDS[group], op, pos - len(op), pos))
    if _REST_IS_SPACE.match(text, pos) is None:
        return None
    n = len(text)
    append(Token(TokenKind.END, "", n, n))
    return tokens


def _tokenize(text: str) -> list[Token]:
    """:func:`tokenize`, character by character: the reference, and the errors."""
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while True:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
        if pos >= n:
            tokens.append(Token(TokenKind.END, "", n, n))
            return tokens
        ch = text[pos]
        if ch in _DIGITS:
            end = _number_end(text, pos)
            tokens.append(Token(TokenKind.NUMBER, text[pos:end], pos, end))
            pos = end
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            match = _NAME.match(text, pos)
            assert match is not None
            word = match.group()
            kind = TokenKind.KEYWORD if word.lower() in KEYWORDS else TokenKind.NAME
            tokens.append(
                Token(kind, word.lower() if kind is TokenKind.KEYWORD else word, pos, match.end())
            )
            pos = match.end()
        elif ch in "'\"":
            end = text.find(ch, pos + 1)
            if end < 0 or "\n" in text[pos:end]:
                raise RuleSyntaxError(
                    f"unterminated string starting with {ch}", text=text, offset=pos
                )
            tokens.append(Token(TokenKind.STRING, text[pos + 1 : end], pos, end + 1))
            pos = end + 1
        elif text[pos : pos + 2] in _TWO:
            tokens.append(Token(_TWO[text[pos : pos + 2]], text[pos : pos + 2], pos, pos + 2))
            pos += 2
        elif text[pos : pos + 2] in _HINTS or ch in _HINTS:
            bad = text[pos : pos + 2] if text[pos : pos + 2] in _HINTS else ch
            raise RuleSyntaxError(f"unexpected {bad!r}: {_HINTS[bad]}", text=text, offset=pos)
        elif ch in _ONE:
            tokens.append(Token(_ONE[ch], ch, pos, pos + 1))
            pos += 1
        elif _is_foreign_digit(ch):
            raise _foreign_digit(text, pos)
        else:
            raise RuleSyntaxError(
                f"unexpected character {ch!r} ({_char_name(ch)})", text=text, offset=pos
            )


def _number_end(text: str, pos: int) -> int:
    """The end of the number starting at ``pos``, after checking its length and exponent.

    Raises:
        RuleSyntaxError: a number that is too long, has too large an exponent,
            holds a digit that is not ASCII, or is malformed.
    """
    window = text[pos : pos + _WINDOW]
    match = _NUMBER.match(window)
    assert match is not None
    end = pos + match.end()
    if match.end() > MAX_NUMBER_CHARACTERS:
        raise RuleSyntaxError(
            f"number {shorten(_word_at(text, pos))} is too long: at most "
            f"{MAX_NUMBER_CHARACTERS} characters",
            text=text,
            offset=pos,
        )
    if end < len(text):
        after = text[end]
        if _is_foreign_digit(after):
            raise _foreign_digit(text, end)
        if after.isalnum() or after in "_.":
            raise RuleSyntaxError(
                f"malformed number {shorten(_word_at(text, pos))} (digits may be grouped "
                "with single '_' between them, as in 1_000_000)",
                text=text,
                offset=pos,
            )
    exponent = match.group(1)
    if exponent is not None and abs(int(exponent)) > MAX_EXPONENT:
        raise RuleSyntaxError(
            f"number {shorten(match.group())} has too large an exponent: at most "
            f"{MAX_EXPONENT} either way (1e{MAX_EXPONENT}, 1e-{MAX_EXPONENT})",
            text=text,
            offset=pos,
        )
    return end


def _is_foreign_digit(ch: str) -> bool:
    """A character that Unicode counts as a digit but that is not ASCII ``0-9``."""
    return not ch.isascii() and (ch.isdigit() or unicodedata.category(ch) == "Nd")


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _foreign_digit(text: str, pos: int) -> RuleSyntaxError:
    ch = text[pos]
    return RuleSyntaxError(
        f"digit {ch!r} ({_char_name(ch)}) is not an ASCII digit; write numbers with 0-9",
        text=text,
        offset=pos,
    )


def _word_at(text: str, pos: int) -> str:
    """The run of word characters from ``pos``: a malformed number as the user wrote it."""
    match = _WORD.match(text, pos)
    return match.group() if match else text[pos]
