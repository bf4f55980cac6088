"""One cheap pass over a module: its imports, the calls that look like LLM API calls, and the
assignments to prompt-named variables, each filed under the statement that holds it.

The interpreter (`interpret.py`) then evaluates only the scopes this pass marked as interesting,
so a module with no prompt in it costs one traversal and nothing more.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

# Trailing attribute chains of SDK methods that send a prompt, and the API they belong to.
API_CHAINS: dict[tuple[str, ...], str] = {
    ("chat", "completions", "create"): "openai.chat",
    ("chat", "completions", "parse"): "openai.chat",
    ("chat", "completions", "stream"): "openai.chat",
    ("responses", "create"): "openai.responses",
    ("responses", "parse"): "openai.responses",
    ("responses", "stream"): "openai.responses",
    ("messages", "create"): "anthropic.messages",
    ("messages", "stream"): "anthropic.messages",
    ("models", "generate_content"): "gemini.generate_content",
    ("models", "generate_content_stream"): "gemini.generate_content",
}

# Module-level functions that send a prompt, by qualified name.
API_FUNCTIONS: dict[str, str] = {
    "litellm.completion": "litellm.completion",
    "litellm.acompletion": "litellm.completion",
}


def framework_api(qualified: str) -> str | None:
    """Framework objects whose construction fixes a prompt: linted as a call site there."""
    root = qualified.split(".")[0]
    if root in {"langchain", "langchain_core", "langchain_community"} and qualified.endswith(
        (".ChatPromptTemplate.from_messages", ".ChatPromptTemplate")
    ):
        return "langchain.prompt"
    if root == "pydantic_ai" and qualified.endswith(".Agent"):
        return "pydantic_ai.agent"
    return None


# Attribute chains that end like an API chain but belong to another API (OpenAI Assistants).
_EXCLUDED_PARENTS = frozenset({"threads"})

Statement = cst.BaseSmallStatement | cst.BaseCompoundStatement
Scope = cst.Module | cst.FunctionDef | cst.ClassDef


def prompt_name_pattern(patterns: Sequence[str]) -> re.Pattern[str]:
    """Compile fnmatch-style prompt-name patterns into one case-insensitive regex."""
    alternatives = [fnmatch.translate(p) for p in patterns] or ["(?!)"]
    return re.compile("|".join(f"(?:{alt})" for alt in alternatives), re.IGNORECASE)


def attribute_chain(node: cst.BaseExpression) -> list[str]:
    """`a.b.c` -> ["a", "b", "c"]; stops (without the root) at anything that is not a name."""
    names: list[str] = []
    while isinstance(node, cst.Attribute):
        names.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        names.append(node.value)
    names.reverse()
    return names


@dataclass
class Candidate:
    call: cst.Call
    api: str
    via_import: bool  # recognised by a qualified name from the module's imports


@dataclass
class ModuleScan:
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    sdk_imports: set[str] = field(default_factory=set)  # "openai", "anthropic", "gemini", ...
    candidates: dict[int, list[Candidate]] = field(default_factory=dict)  # id(statement) -> calls
    candidate_calls: set[int] = field(default_factory=set)  # id(call)
    prompt_assigns: set[int] = field(default_factory=set)  # id(statement)
    prompt_functions: set[int] = field(default_factory=set)  # id(FunctionDef)
    interesting_scopes: set[int] = field(default_factory=set)  # id(scope node)

    @property
    def is_empty(self) -> bool:
        return not self.candidates and not self.prompt_assigns and not self.prompt_functions


_SDK_ROOTS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google.genai": "gemini",
    "google.generativeai": "gemini",
    "litellm": "litellm",
    "langchain": "langchain",
    "langchain_core": "langchain",
    "langchain_community": "langchain",
    "pydantic_ai": "pydantic_ai",
}


def _sdk_of(qualified: str) -> str | None:
    for root, sdk in _SDK_ROOTS.items():
        if qualified == root or qualified.startswith(root + "."):
            return sdk
    return None


# Fields that only hold whitespace, comments and punctuation: never worth walking into.
_TOKEN_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "equal",
        "colon",
        "dot",
        "operator",
        "header",
        "footer",
        "leading_lines",
        "lines_after_decorators",
        "trailing_whitespace",
        "empty_lines",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "first_line",
        "indent",
        "newline",
    }
)
_CSTNode = cst.CSTNode
_KINDS: dict[type, tuple[tuple[str, ...], bool, bool]] = {}


def _node_kind(kind: type) -> tuple[tuple[str, ...], bool, bool]:
    """(fields worth walking, is a statement, is a scope) of a node class, computed once:
    `isinstance` against libcst's abstract base classes is slow on millions of nodes."""
    known = _KINDS.get(kind)
    if known is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if not f.name.startswith("whitespace") and f.name not in _TOKEN_FIELDS
        )
        is_statement = issubclass(kind, (cst.BaseSmallStatement, cst.BaseCompoundStatement))
        is_scope = issubclass(kind, (cst.FunctionDef, cst.ClassDef))
        known = _KINDS[kind] = (fields, is_statement, is_scope)
    return known


class _Scanner:
    """An iterative walk over the tree's meaningful fields.

    libcst's visitor rebuilds every node it passes (about ten times the cost of this walk), and a
    recursive walk would overflow on deeply nested expressions.
    """

    def __init__(self, prompt_names: re.Pattern[str]) -> None:
        self.result = ModuleScan()
        self._prompt_names = prompt_names
        self._statement: Statement | None = None
        self._scopes: tuple[Scope, ...] = ()

    def walk(self, module: cst.Module) -> None:
        handlers = {
            cst.Import: self.visit_Import,
            cst.ImportFrom: self.visit_ImportFrom,
            cst.Call: self.visit_Call,
            cst.Assign: self.visit_Assign,
            cst.AnnAssign: self.visit_AnnAssign,
            cst.FunctionDef: self.visit_FunctionDef,
        }
        stack: list[tuple[cst.CSTNode, Statement | None, tuple[Scope, ...]]] = [
            (module, None, (module,))
        ]
        while stack:
            node, statement, scopes = stack.pop()
            kind = type(node)
            fields, is_statement, is_scope = _node_kind(kind)
            if is_statement:
                statement = node  # type: ignore[assignment]
            if is_scope:
                scopes = (*scopes, node)  # type: ignore[arg-type]
            handler = handlers.get(kind)
            if handler is not None:
                self._statement, self._scopes = statement, scopes
                handler(node)  # type: ignore[operator]
            children: list[cst.CSTNode] = []
            for name in fields:
                value = getattr(node, name)
                if isinstance(value, (list, tuple)):
                    children.extend(v for v in value if isinstance(v, _CSTNode))
                elif isinstance(value, _CSTNode):
                    children.append(value)
            # Reversed, so that the stack pops them in source order (imports before their uses).
            stack.extend((child, statement, scopes) for child in reversed(children))

    def _mark_interesting(self) -> None:
        self.result.interesting_scopes.update(id(s) for s in self._scopes)

    # -- imports ---------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.result.imports[alias.asname.name.value] = dotted
            else:
                root = dotted.split(".")[0]
                self.result.imports[root] = root
            self._note_sdk(dotted)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        # Relative imports keep their dots (`.prompts.SYSTEM`): the link stage resolves them.
        dots = "." * len(node.relative)
        module = dots + (_dotted(node.module) if node.module is not None else "")
        if not dots:
            self._note_sdk(module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _dotted(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            joined = f"{module}{name}" if module.endswith(".") else f"{module}.{name}"
            self.result.imports[local] = joined
            if not dots:
                self._note_sdk(joined)

    def _note_sdk(self, qualified: str) -> None:
        sdk = _sdk_of(qualified)
        if sdk is not None:
            self.result.sdk_imports.add(sdk)

    # -- call sites --------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        api: str | None = None
        via_import = False
        chain = attribute_chain(node.func)
        qualified = self._qualify(chain) if chain else None
        if qualified is not None and qualified in API_FUNCTIONS:
            api, via_import = API_FUNCTIONS[qualified], True
        elif qualified is not None and framework_api(qualified) is not None:
            api, via_import = framework_api(qualified), True
        elif isinstance(node.func, cst.Attribute):
            # Only the trailing attributes matter: the root may be any expression (`self.client`,
            # `OpenAI()`, `get_client()`).
            attributes = _trailing_attributes(node.func)
            for length in (3, 2):
                tail = tuple(attributes[-length:])
                if len(attributes) >= length and tail in API_CHAINS:
                    if len(attributes) > length and attributes[-length - 1] in _EXCLUDED_PARENTS:
                        return
                    api = API_CHAINS[tail]
                    break
        statement = self._statement
        if api is None or statement is None:
            return
        self.result.candidates.setdefault(id(statement), []).append(
            Candidate(node, api, via_import)
        )
        self.result.candidate_calls.add(id(node))
        self._mark_interesting()

    def _qualify(self, chain: list[str]) -> str:
        head = self.result.imports.get(chain[0], chain[0])
        return ".".join([head, *chain[1:]])

    # -- prompt-named functions and assignments ----------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """`def build_system_prompt(...)`: the template it returns is a prompt template."""
        if self._prompt_names.fullmatch(node.name.value):
            self.result.prompt_functions.add(id(node))
            self._mark_interesting()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._check_target(node, target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_target(node, node.target)

    def _check_target(self, statement: cst.BaseSmallStatement, target: cst.BaseExpression) -> None:
        name: str | None = None
        if isinstance(target, cst.Name):
            name = target.value
        elif isinstance(target, cst.Attribute):
            name = target.attr.value
        if name is not None and self._prompt_names.fullmatch(name):
            self.result.prompt_assigns.add(id(statement))
            self._mark_interesting()


def _trailing_attributes(node: cst.BaseExpression) -> list[str]:
    names: list[str] = []
    while isinstance(node, cst.Attribute):
        names.append(node.attr.value)
        node = node.value
    names.reverse()
    return names


def _dotted(node: cst.BaseExpression) -> str:
    return ".".join(attribute_chain(node))


def scan_module(module: cst.Module, prompt_names: re.Pattern[str]) -> ModuleScan:
    scanner = _Scanner(prompt_names)
    scanner.walk(module)
    return scanner.result
