"""A small parser for the commonest templates, building the tree Jinja's parser builds.

Compiling a spec parses every template in it, and Jinja's general lexer and parser cost
about 100 µs per template: for a 1,000-node spec of distinct templates, a quarter of the
compile budget. Most templates are text with expressions made of references, literals,
arithmetic, comparisons, boolean operators and filters (``{{ nodes.a.total * 2 }}``,
``Hello {{ inputs.name | title }}``). This module parses exactly that subset, about five
times faster, and declines (returns ``None``) on anything else, so the caller falls back
to Jinja.

The contract is strict: when it returns a tree, the tree is equal, node for node and line
for line, to ``ENVIRONMENT.parse(source)``; it never raises and never accepts a source
Jinja would refuse. It declines rather than guess wherever Jinja's lexer has a subtlety
(numbers with exponents, underscores, bases or a dot before them; escapes in strings;
whitespace control; line breaks inside an expression; non-ASCII names; ``{%``/``{#``
tags). ``tests/compiler/test_quick_parser.py`` checks the equality on a corpus and on
generated sources.
"""

from __future__ import annotations

import re
from typing import Final

from jinja2 import nodes
from jinja2.environment import Environment

#: operators of the subset, longest first (Jinja lexes greedily)
_OPERATORS: Final = {
    "**": "pow", "//": "floordiv", "==": "eq", "!=": "ne", "<=": "lteq", ">=": "gteq",
    "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "~": "tilde",
    "<": "lt", ">": "gt", "(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket",
    ".": "dot", ",": "comma", "|": "pipe", "=": "assign",
}
_TOKEN: Final = re.compile(r"""
    (?P<space>[ \t]+)
  | (?P<end>\}\})
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'[^'\\\n\r]*'|"[^"\\\n\r]*")
  | (?P<op>\*\*|//|==|!=|<=|>=|[-+*/%~<>()\[\].,|=])
""", re.VERBOSE)
#: characters that, right after a number or a name, make Jinja lex it differently
_NUMBER_TAIL: Final = re.compile(r"[A-Za-z0-9_.]")
_COMPARE: Final = frozenset({"eq", "ne", "lt", "lteq", "gt", "gteq"})
_MATH1: Final = {"add": nodes.Add, "sub": nodes.Sub}
_MATH2: Final = {"mul": nodes.Mul, "div": nodes.Div, "floordiv": nodes.FloorDiv,
                 "mod": nodes.Mod}
#: names that end or change an expression in Jinja's grammar; the subset handles the
#: boolean ones and declines the rest
_DECLINED_KEYWORDS: Final = frozenset({"if", "else", "is"})

Token = tuple[str, object]  # (type, value)


class _DeclinedError(Exception):
    """The source is outside the subset; Jinja decides."""


def quick_parse(source: str, environment: Environment) -> nodes.Template | None:
    """The tree ``environment.parse(source)`` would return, or None outside the subset."""
    if "{%" in source or "{#" in source or "\r" in source or not _standard(environment):
        return None
    try:
        body = _parse_body(source)
    except _DeclinedError:
        return None
    template = nodes.Template(body, lineno=1)
    template.set_environment(environment)
    return template


def _standard(environment: Environment) -> bool:
    """The lexer settings this parser mirrors (the expression environment's)."""
    return (environment.variable_start_string, environment.variable_end_string,
            environment.block_start_string, environment.comment_start_string,
            environment.keep_trailing_newline, environment.line_statement_prefix,
            environment.line_comment_prefix) == ("{{", "}}", "{%", "{#", True, None, None)


def _parse_body(source: str) -> list[nodes.Node]:
    items: list[nodes.Expr] = []
    position = 0
    line = 1
    while position < len(source):
        start = source.find("{{", position)
        text = source[position:] if start < 0 else source[position:start]
        if text:
            items.append(nodes.TemplateData(text, lineno=line))
            line += text.count("\n")
        if start < 0:
            break
        if source.startswith(("{{-", "{{+"), start):
            raise _DeclinedError  # whitespace control
        tokens, position = _tokenize(source, start + 2)
        items.append(_ExpressionParser(tokens, line).parse())
    return [nodes.Output(items, lineno=items[0].lineno)] if items else []


def _tokenize(source: str, position: int) -> tuple[list[Token], int]:
    """The tokens of one ``{{ ... }}`` from ``position`` (after ``{{``), and where the
    text after its ``}}`` starts."""
    tokens: list[Token] = []
    while True:
        match = _TOKEN.match(source, position)
        if match is None:
            raise _DeclinedError  # a line break, an unknown character, an escape, a brace...
        kind = match.lastgroup
        text = match.group()
        position = match.end()
        if kind == "end":
            if tokens and tokens[-1] == ("sub", "-"):
                raise _DeclinedError  # "-}}" is whitespace control
            return tokens, position
        if kind == "space":
            continue
        following = source[position:position + 1]
        if kind == "number":
            if _NUMBER_TAIL.match(following) or ord(following or " ") > 127 or (
                    text.startswith("0") and len(text.split(".")[0]) > 1) or (
                    "." in text and tokens and tokens[-1][0] == "dot"):
                raise _DeclinedError  # 1e5, 1_0, 0x1, 012, 1.2.3, a.1.2: Jinja's own rules
            tokens.append(("float", float(text)) if "." in text else ("integer", int(text)))
        elif kind == "name":
            if ord(following or " ") > 127:
                raise _DeclinedError  # Jinja names may continue with non-ASCII letters
            tokens.append(("name", text))
        elif kind == "string":
            tokens.append(("string", text[1:-1]))
        else:
            tokens.append((_OPERATORS[text], text))


class _ExpressionParser:
    """Jinja's ``parse_tuple(with_condexpr=True)`` for one expression, method for method
    (``jinja2.parser.Parser``), minus what the subset leaves out."""

    def __init__(self, tokens: list[Token], line: int) -> None:
        self.tokens = tokens
        self.index = 0
        self.line = line  # an expression never spans lines here: every node is on it

    # -- the token stream ------------------------------------------------------------

    @property
    def kind(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def _is_name(self, value: str, offset: int = 0) -> bool:
        at = self.index + offset
        return at < len(self.tokens) and self.tokens[at] == ("name", value)

    def _next(self) -> Token:
        if self.index >= len(self.tokens):
            raise _DeclinedError
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _expect(self, kind: str) -> Token:
        token = self._next()
        if token[0] != kind:
            raise _DeclinedError
        return token

    # -- the grammar -------------------------------------------------------------------

    def parse(self) -> nodes.Expr:
        expression = self.parse_expression()
        if self.index != len(self.tokens):
            raise _DeclinedError  # a tuple, a conditional, a test, or a syntax error
        return expression

    def parse_expression(self) -> nodes.Expr:
        expression = self.parse_or()
        if self.kind == "name" and self.tokens[self.index][1] in _DECLINED_KEYWORDS:
            raise _DeclinedError
        return expression

    def parse_or(self) -> nodes.Expr:
        left = self.parse_and()
        while self._is_name("or"):
            self.index += 1
            left = nodes.Or(left, self.parse_and(), lineno=self.line)
        return left

    def parse_and(self) -> nodes.Expr:
        left = self.parse_not()
        while self._is_name("and"):
            self.index += 1
            left = nodes.And(left, self.parse_not(), lineno=self.line)
        return left

    def parse_not(self) -> nodes.Expr:
        if self._is_name("not"):
            self.index += 1
            return nodes.Not(self.parse_not(), lineno=self.line)
        return self.parse_compare()

    def parse_compare(self) -> nodes.Expr:
        expression = self.parse_math1()
        operands: list[nodes.Operand] = []
        while True:
            kind = self.kind
            if kind in _COMPARE:
                self.index += 1
                operands.append(nodes.Operand(kind, self.parse_math1()))
            elif self._is_name("in"):
                self.index += 1
                operands.append(nodes.Operand("in", self.parse_math1()))
            elif self._is_name("not") and self._is_name("in", 1):
                self.index += 2
                operands.append(nodes.Operand("notin", self.parse_math1()))
            else:
                break
        if not operands:
            return expression
        return nodes.Compare(expression, operands, lineno=self.line)

    def parse_math1(self) -> nodes.Expr:
        left = self.parse_concat()
        while self.kind in _MATH1:
            operator = _MATH1[self._next()[0]]
            left = operator(left, self.parse_concat(), lineno=self.line)
        return left

    def parse_concat(self) -> nodes.Expr:
        parts = [self.parse_math2()]
        while self.kind == "tilde":
            self.index += 1
            parts.append(self.parse_math2())
        if len(parts) == 1:
            return parts[0]
        return nodes.Concat(parts, lineno=self.line)

    def parse_math2(self) -> nodes.Expr:
        left = self.parse_pow()
        while self.kind in _MATH2:
            operator = _MATH2[self._next()[0]]
            left = operator(left, self.parse_pow(), lineno=self.line)
        return left

    def parse_pow(self) -> nodes.Expr:
        left = self.parse_unary()
        while self.kind == "pow":
            self.index += 1
            left = nodes.Pow(left, self.parse_unary(), lineno=self.line)
        return left

    def parse_unary(self, with_filter: bool = True) -> nodes.Expr:
        node: nodes.Expr
        if self.kind == "sub":
            self.index += 1
            node = nodes.Neg(self.parse_unary(False), lineno=self.line)
        elif self.kind == "add":
            self.index += 1
            node = nodes.Pos(self.parse_unary(False), lineno=self.line)
        else:
            node = self.parse_primary()
        node = self.parse_postfix(node)
        if with_filter:
            node = self.parse_filters(node)
        return node

    def parse_primary(self) -> nodes.Expr:
        kind, value = self._next()
        if kind == "name":
            if value in ("true", "false", "True", "False"):
                return nodes.Const(value in ("true", "True"), lineno=self.line)
            if value in ("none", "None"):
                return nodes.Const(None, lineno=self.line)
            return nodes.Name(value, "load", lineno=self.line)
        if kind == "string":
            if self.kind == "string":
                raise _DeclinedError  # adjacent strings: rare, left to Jinja
            return nodes.Const(value, lineno=self.line)
        if kind in ("integer", "float"):
            return nodes.Const(value, lineno=self.line)
        if kind == "lparen":
            if self.kind == "rparen":
                raise _DeclinedError  # an empty tuple
            inner = self.parse_expression()
            self._expect("rparen")  # a comma (a tuple) declines here
            return inner
        raise _DeclinedError  # lists, dicts, operators out of place

    def parse_postfix(self, node: nodes.Expr) -> nodes.Expr:
        while True:
            kind = self.kind
            if kind == "dot":
                self.index += 1
                attr_kind, attr = self._next()
                if attr_kind == "name":
                    node = nodes.Getattr(node, attr, "load", lineno=self.line)
                elif attr_kind == "integer":
                    node = nodes.Getitem(node, nodes.Const(attr, lineno=self.line), "load",
                                         lineno=self.line)
                else:
                    raise _DeclinedError
            elif kind == "lbracket":
                self.index += 1
                if self.kind == "rbracket":
                    raise _DeclinedError
                argument = self.parse_expression()
                self._expect("rbracket")  # slices and tuples decline here
                node = nodes.Getitem(node, argument, "load", lineno=self.line)
            elif kind == "lparen":
                raise _DeclinedError  # calls
            else:
                return node

    def parse_filters(self, node: nodes.Expr) -> nodes.Expr:
        while self.kind == "pipe":
            self.index += 1
            kind, name = self._next()
            if kind != "name" or self.kind == "dot":
                raise _DeclinedError
            args: list[nodes.Expr] = []
            kwargs: list[nodes.Keyword] = []
            if self.kind == "lparen":
                args, kwargs = self.parse_call_args()
            node = nodes.Filter(node, name, args, kwargs, None, None, lineno=self.line)
        if self.kind == "lparen" or self._is_name("is"):
            raise _DeclinedError  # calls on a filter's result, tests
        return node

    def parse_call_args(self) -> tuple[list[nodes.Expr], list[nodes.Keyword]]:
        self._expect("lparen")
        args: list[nodes.Expr] = []
        kwargs: list[nodes.Keyword] = []
        require_comma = False
        while self.kind != "rparen":
            if require_comma:
                self._expect("comma")
                if self.kind == "rparen":
                    break  # a trailing comma
            if self.kind in ("mul", "pow"):
                raise _DeclinedError  # *args, **kwargs
            if self.kind == "name" and self.index + 1 < len(self.tokens) \
                    and self.tokens[self.index + 1][0] == "assign":
                key = str(self._next()[1])
                self.index += 1
                kwargs.append(nodes.Keyword(key, self.parse_expression(), lineno=self.line))
            else:
                if kwargs:
                    raise _DeclinedError  # a positional argument after a keyword: an error
                args.append(self.parse_expression())
            require_comma = True
        self._expect("rparen")
        return args, kwargs
