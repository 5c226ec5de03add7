"""GitHub Actions expressions, evaluated the way GitHub does, for the local GitHub's ``run-name``.

A workflow's ``run-name`` (``deploy ${{ inputs.golive_id || github.ref_name }}``)
is what golive matches its correlation id against after a lost dispatch
answer. If the local GitHub rendered it with golive's own idea of the
syntax, the two would agree by accident; so this module follows GitHub's
published rules ("Evaluate expressions in workflows and actions"), on its
own, for the forms people write:

- literals: ``null``, ``true``/``false``, JSON numbers (also ``0xff``,
  ``-2.99e-2``), ``'single quoted'`` strings with ``''`` for a quote;
- contexts: ``github.ref_name``, ``inputs.x``, ``github.event.inputs.x``,
  ``a['b']``; a missing property is ``null``;
- operators, by precedence: ``( )``, ``[ ]``/``.``, ``!``, ``< <= > >=``,
  ``== !=``, ``&&``, ``||``. ``&&`` and ``||`` return an operand, not a
  boolean (``'' || 'x'`` is ``'x'``); falsy are ``false``, ``0``, ``-0``,
  ``''`` and ``null``; comparisons are loose (mismatched types become
  numbers) and ignore case for strings;
- functions: ``format``, ``contains``, ``startsWith``, ``endsWith``,
  ``join``, ``toJSON``, ``fromJSON``.

Values become text as GitHub prints them: ``null`` as ``''``, booleans as
``true``/``false``, whole numbers without a decimal point.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<str>'(?:[^']|'')*')
    | (?P<op>\|\||&&|==|!=|<=|>=|[<>!()\[\].,])
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<star>\*)
    )""", re.VERBOSE)


class ExpressionError(ValueError):
    """An expression GitHub would reject (unterminated string, unknown function, stray token)."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(expr: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"unexpected text at position {pos}: {expr[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        # A '-' glued to a number after a value is not a sign; GitHub has no subtraction, so this only
        # matters for error messages: keep the simple rule.
        out.append(_Tok(kind, text))
        pos = m.end()
    return out


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float:
    """GitHub's coercion for loose comparisons: null 0, booleans 1/0, strings parsed as JSON numbers or NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def to_text(value: Any) -> str:
    """A value as GitHub writes it into a string."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, str):
        return value
    return "Object" if isinstance(value, dict) else "Array"


def _equal(a: Any, b: Any) -> bool:
    if type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)
                              and not isinstance(a, bool) and not isinstance(b, bool)):
        if isinstance(a, str):
            return bool(a.casefold() == str(b).casefold())
        if isinstance(a, dict | list):
            return a is b
        return bool(a == b)
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return to_number(a) == to_number(b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a.casefold()
        y: Any = b.casefold()
    else:
        x, y = to_number(a), to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return bool({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])


def _format(template: Any, *args: Any) -> str:
    text = to_text(template)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{" and text[i + 1:i + 2] == "{":
            out.append("{")
            i += 2
        elif c == "}" and text[i + 1:i + 2] == "}":
            out.append("}")
            i += 2
        elif c == "{":
            end = text.find("}", i)
            index = text[i + 1:end] if end > 0 else ""
            if not index.isdigit() or int(index) >= len(args):
                raise ExpressionError(f"format(): bad placeholder in {text!r}")
            out.append(to_text(args[int(index)]))
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_equal(item, needle) for item in haystack)
    return to_text(needle).casefold() in to_text(haystack).casefold()


def _join(items: Any, sep: Any = ",") -> str:
    if isinstance(items, list):
        return to_text(sep).join(to_text(i) for i in items)
    return to_text(items)


FUNCTIONS: dict[str, Any] = {
    "format": _format,
    "contains": _contains,
    "startswith": lambda a, b: to_text(a).casefold().startswith(to_text(b).casefold()),
    "endswith": lambda a, b: to_text(a).casefold().endswith(to_text(b).casefold()),
    "join": _join,
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda v: json.loads(to_text(v)),
}


class _Parser:
    def __init__(self, tokens: list[_Tok], contexts: Mapping[str, Any]) -> None:
        self.toks = tokens
        self.i = 0
        self.contexts = contexts

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise ExpressionError(f"expected {text or 'more'}, found {tok.text if tok else 'the end'}")
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in texts

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.at("||"):
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.equality()
        while self.at("&&"):
            self.take()
            right = self.equality()
            left = right if truthy(left) else left
        return left

    def equality(self) -> Any:
        left = self.comparison()
        while self.at("==", "!="):
            op = self.take().text
            right = self.comparison()
            left = _equal(left, right) if op == "==" else not _equal(left, right)
        return left

    def comparison(self) -> Any:
        left = self.unary()
        while self.at("<", "<=", ">", ">="):
            op = self.take().text
            left = _compare(op, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.at("!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        filtered = False  # after '.*', a property applies to every element (an object filter)
        while self.at(".", "["):
            if self.take().text == ".":
                tok = self.take()
                if tok.kind == "star":
                    value = list(value.values()) if isinstance(value, dict) else value
                    filtered = isinstance(value, list)
                    continue
                if filtered and isinstance(value, list):
                    value = [v for v in (_prop(item, tok.text) for item in value) if v is not None]
                    continue
                value = _prop(value, tok.text)
            else:
                key = self.or_()
                self.take("]")
                value = value[int(to_number(key))] if isinstance(value, list) and not isinstance(key, str) \
                    and 0 <= to_number(key) < len(value) else _prop(value, key)
        return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            number = float(int(tok.text, 16)) if tok.text.lower().startswith("0x") else float(tok.text)
            return int(number) if number.is_integer() and "e" not in tok.text.lower() else number
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "op" and tok.text == "(":
            value = self.or_()
            self.take(")")
            return value
        if tok.kind == "name":
            word = tok.text
            if word == "null":
                return None
            if word in ("true", "false"):
                return word == "true"
            if self.at("("):
                return self.call(word)
            return _prop(self.contexts, word)
        raise ExpressionError(f"unexpected {tok.text!r}")

    def call(self, name: str) -> Any:
        fn = FUNCTIONS.get(name.lower())
        if fn is None:
            raise ExpressionError(f"unknown function {name}()")
        self.take("(")
        args: list[Any] = []
        if not self.at(")"):
            args.append(self.or_())
            while self.at(","):
                self.take()
                args.append(self.or_())
        self.take(")")
        return fn(*args)


def _prop(value: Any, key: Any) -> Any:
    if not isinstance(value, Mapping):
        return None
    wanted = to_text(key).casefold()
    return next((v for k, v in value.items() if str(k).casefold() == wanted), None)


def evaluate(expr: str, contexts: Mapping[str, Any]) -> Any:
    """The value of one expression (the text inside ``${{ }}``)."""
    return _Parser(_tokens(expr), contexts).parse()


def render(template: str, contexts: Mapping[str, Any]) -> str:
    """A string with every ``${{ expression }}`` replaced by its value as text."""
    out: list[str] = []
    pos = 0
    while (start := template.find("${{", pos)) >= 0:
        out.append(template[pos:start])
        i = start + 3
        while i < len(template) and template[i:i + 2] != "}}":
            if template[i] == "'":  # a '}}' inside a string literal does not close the expression
                i += 1
                while i < len(template) and not (template[i] == "'" and template[i + 1:i + 2] != "'"):
                    i += 2 if template[i:i + 2] == "''" else 1
            i += 1
        if i >= len(template):
            raise ExpressionError(f"an expression is not closed with }}}}: {template[start:start + 30]!r}")
        out.append(to_text(evaluate(template[start + 3:i], contexts)))
        pos = i + 2
    out.append(template[pos:])
    return "".join(out)
