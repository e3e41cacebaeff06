"""Tokens of the condition language.

Numbers (``1_000_000``, ``0.5``, ``1e-3``), names, quoted product ids
(``'court_express'``), ``( ) ,``, ``+ - * /``, ``< <= > >= == !=`` and the words
``and or not true false`` (in any case). Anything else is a
:class:`~keyaccount.exceptions.RuleSyntaxError` at its position.
"""

from __future__ import annotations

import enum
import re

import attrs

from keyaccount.exceptions import RuleSyntaxError

__all__ = ["Token", "TokenKind", "tokenize"]


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


@attrs.frozen
class Token:
    """A token: its kind, text (a keyword in lower case) and offsets in the condition."""

    kind: TokenKind
    text: str
    start: int
    end: int


KEYWORDS = frozenset({"and", "or", "not", "true", "false"})

_NUMBER = re.compile(r"\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?")
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


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token.

    Raises:
        RuleSyntaxError: a character or number that the language does not have.
    """
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
        if ch.isdigit():
            match = _NUMBER.match(text, pos)
            assert match is not None
            end = match.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise RuleSyntaxError(
                    f"malformed number {_word_at(text, pos)!r} (digits may be grouped "
                    "with single '_' between them, as in 1_000_000)",
                    text=text,
                    offset=pos,
                )
            tokens.append(Token(TokenKind.NUMBER, match.group(), pos, end))
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
        else:
            raise RuleSyntaxError(f"unexpected character {ch!r}", text=text, offset=pos)


def _word_at(text: str, pos: int) -> str:
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] in "_.+-"):
        if text[end] in "+-" and text[end - 1] not in "eE":
            break
        end += 1
    return text[pos:end]
