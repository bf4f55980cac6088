"""A small abstract interpreter over one module: it follows how prompt strings and message lists are
built (assignments, f-strings, `.format`, `+`, `append`, helpers) in straight-line code and turns
every LLM call into a `RawCallSite`.

What it cannot follow becomes a dynamic value, never an error. A name assigned on more than one path
(in a branch or a loop) is dynamic after that statement; text it had before the branch is kept.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Sequence

import libcst as cst

from promptlint.extract import files, sdk
from promptlint.extract.raw import Binding, RawBlock, RawCallSite, RawTemplate
from promptlint.extract.scan import ModuleScan, attribute_chain
from promptlint.extract.values import (
    NO_FACTS,
    ClientV,
    DictV,
    Facts,
    FString,
    FuncV,
    JinjaEnvV,
    ListV,
    Opaque,
    PathV,
    Pending,
    SelfV,
    Spread,
    Str,
    Value,
    as_str,
    concat,
    facts_of,
    format_fields,
    format_template,
    formatted,
    is_static_structure,
    map_text,
    percent_template,
    strip_edges,
    structure_text,
    union,
)
from promptlint.extract.volatility import (
    ORDER_KEEPING_CALLS,
    ORDERING_CALLS,
    UNORDERED_CALLS,
    UNORDERED_METHODS,
    is_volatile,
    iteration_facts,
)

CLIENT_CONSTRUCTORS = {
    "openai.OpenAI": "openai",
    "openai.AsyncOpenAI": "openai",
    "openai.AzureOpenAI": "openai",
    "openai.AsyncAzureOpenAI": "openai",
    "anthropic.Anthropic": "anthropic",
    "anthropic.AsyncAnthropic": "anthropic",
    "anthropic.AnthropicBedrock": "anthropic",
    "anthropic.AsyncAnthropicBedrock": "anthropic",
    "anthropic.AnthropicVertex": "anthropic",
    "anthropic.AsyncAnthropicVertex": "anthropic",
    "google.genai.Client": "gemini",
}

# Constructors whose keyword arguments are the object's content (config and message classes).
RECORD_CONSTRUCTORS = re.compile(
    r"(^|\.)(dict|GenerateContentConfig|Content|Part|Part\.from_text|TextBlockParam"
    r"|ChatCompletion\w*MessageParam|ResponseInputTextParam|ChatMessage)$"
)
# Framework message classes: their content (first argument or `content=`) under a fixed role.
MESSAGE_CLASSES = {
    "SystemMessage": "system",
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "SystemMessagePromptTemplate.from_template": "system",
    "HumanMessagePromptTemplate.from_template": "user",
    "AIMessagePromptTemplate.from_template": "assistant",
}
# Framework string templates with `{field}` placeholders (LangChain, LlamaIndex).
FORMAT_TEMPLATE_CLASSES = ("PromptTemplate.from_template", "PromptTemplate")

_STR_METHODS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
    "capitalize": str.capitalize,
}

_PASSED_IN = Facts(passed_in=True)
_SDK_TOPS = frozenset({"openai", "anthropic", "google", "litellm"})

MAX_STEPS = 200_000  # evaluation budget per module: pathological input degrades to dynamic values
MAX_CALL_DEPTH = 3  # helper functions followed through at most this many nested calls


class Env:
    def __init__(self, parent: Env | None = None) -> None:
        self.vars: dict[str, Binding] = {}
        self.parent = parent

    def lookup(self, name: str) -> Binding | None:
        env: Env | None = self
        while env is not None:
            binding = env.vars.get(name)
            if binding is not None:
                return binding
            env = env.parent
        return None

    def copy(self) -> Env:
        clone = Env(self.parent)
        clone.vars = dict(self.vars)
        return clone


class _Budget(Exception):
    """The module's evaluation budget is spent."""


class Interpreter:
    def __init__(self, module: cst.Module, scan: ModuleScan, prompt_names: re.Pattern[str]) -> None:
        self.module = module
        self.scan = scan
        self.prompt_names = prompt_names
        self.call_sites: list[RawCallSite] = []
        self.templates: list[RawTemplate] = []
        self._reads: list[Binding] | None = None
        self._steps = 0
        self._depth = 0
        self._returns: list[Value] | None = None
        # Scopes to run after the module body: functions and classes with prompts in them, each
        # with its defining scope and, for methods, the `self` they see.
        self._pending_scopes: list[tuple[cst.FunctionDef | cst.ClassDef, Env, SelfV | None]] = []
        self._self: SelfV | None = None  # while a class body runs: its instances' `self`
        self.module_env = Env()
        self._agents: dict[str, RawCallSite] = {}  # pydantic-ai agents by variable name
        self._template_of: dict[int, int] = {}  # id(binding) -> its index in self.templates

    # -- entry point -------------------------------------------------------------------------
    def run(self) -> None:
        module_env = self.module_env
        self._exec_scope(self.module.body, module_env)
        _computed_at_import(module_env)
        while self._pending_scopes:
            node, env, instance = self._pending_scopes.pop(0)
            if isinstance(node, cst.FunctionDef):
                args = _self_arg(node, instance)
                returned = self._exec_function(node, env, args=args, building=True)
                binding = env.vars.get(node.name.value)
                is_prompt = id(node) in self.scan.prompt_functions
                if is_prompt and binding and isinstance(returned, Str) and returned.parts:
                    name = f"{node.name.value}()"
                    self.templates.append(RawTemplate(name, returned, node.name, binding))
            else:
                self._exec_class(node, env)

    def _exec_class(self, node: cst.ClassDef, env: Env) -> None:
        class_env = Env(env)
        instance = SelfV({}, class_env)
        outer, self._self = self._self, instance
        try:
            self._exec_scope(node.body.body, class_env)
        finally:
            self._self = outer
        init = class_env.vars.get("__init__")
        if init is not None and isinstance(init.value, FuncV):  # what `self.x = ...` assigns
            try:
                self._exec_function(
                    init.value.node, class_env, _self_arg(init.value.node, instance), building=False
                )
            except (_Budget, RecursionError):
                pass

    def _exec_scope(self, body: Sequence[cst.CSTNode], env: Env) -> None:
        try:
            self._exec_block(body, env, conditional=False)
        except (_Budget, RecursionError):
            pass  # what was collected so far stands; the rest of this scope is not followed

    # -- statements --------------------------------------------------------------------------
    def _exec_block(self, body: Sequence[cst.CSTNode], env: Env, conditional: bool) -> None:
        for statement in body:
            self._tick()
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._exec_small(small, env, conditional)
            elif isinstance(statement, cst.BaseCompoundStatement):
                self._exec_compound(statement, env, conditional)

    def _exec_small(self, node: cst.BaseSmallStatement, env: Env, conditional: bool) -> None:
        self._build_call_sites(node, env)
        if isinstance(node, cst.Assign):
            value, deps = self._eval_tracked(node.value, env)
            for target in node.targets:
                self._bind(target.target, value, env, node, deps)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            value, deps = self._eval_tracked(node.value, env)
            self._bind(node.target, value, env, node, deps)
        elif isinstance(node, cst.AugAssign):
            self._exec_augassign(node, env, conditional)
        elif isinstance(node, cst.Expr):
            self._exec_mutation(node.value, env, conditional)
        elif isinstance(node, cst.Return) and self._returns is not None:
            value = self.eval(node.value, env) if node.value is not None else Opaque(node)
            self._returns.append(value)
        elif isinstance(node, cst.Del):
            for name in _del_targets(node.target):
                env.vars.pop(name, None)

    def _exec_compound(self, node: cst.BaseCompoundStatement, env: Env, conditional: bool) -> None:
        self._build_call_sites(node, env)
        if isinstance(node, cst.FunctionDef):
            env.vars[node.name.value] = Binding(FuncV(node, env), node)
            self._add_agent_prompt(node, env)
            if id(node) in self.scan.interesting_scopes:
                self._pending_scopes.append((node, env, self._self))
            return
        if isinstance(node, cst.ClassDef):
            env.vars[node.name.value] = Binding(Opaque(node.name, node.name.value), node)
            if id(node) in self.scan.interesting_scopes:
                self._pending_scopes.append((node, env, None))
            return
        if isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    opened = self.eval(item.item, env)
                    handle = (
                        opened
                        if isinstance(opened, PathV)
                        else Opaque(item.item, facts=facts_of(opened))
                    )
                    self._bind(item.asname.name, handle, env, node, [])
            self._exec_block(node.body.body, env, conditional)
            return
        if isinstance(node, cst.Try):
            # The body is the path taken on every normal request; handlers are alternatives.
            self._exec_block(node.body.body, env, conditional)
            handlers = [h.body.body for h in node.handlers]
            if node.orelse is not None:
                handlers.append(node.orelse.body.body)
            self._exec_branches(handlers, env, include_fallthrough=True)
            if node.finalbody is not None:
                self._exec_block(node.finalbody.body.body, env, conditional)
            return
        branches: list[Sequence[cst.CSTNode]] = []
        if isinstance(node, cst.If):
            current: cst.If | cst.Else | None = node
            while isinstance(current, cst.If):
                branches.append(current.body.body)
                current = current.orelse
            if isinstance(current, cst.Else):
                branches.append(current.body.body)
            self._exec_branches(
                branches, env, include_fallthrough=not isinstance(current, cst.Else)
            )
        elif isinstance(node, (cst.For, cst.While)):
            if isinstance(node, cst.For):
                iterated = self.eval(node.iter, env)
                facts = facts_of(iterated) | iteration_facts(node.iter, iterated, self.qualified)
                self._bind(
                    node.target,
                    Opaque(node.target, None, facts),
                    env,
                    node,
                    [],
                )
            bodies = [node.body.body]
            if node.orelse is not None:
                bodies.append(node.orelse.body.body)
            self._exec_branches(bodies, env, include_fallthrough=True)
        elif isinstance(node, cst.Match):
            self._exec_branches([c.body.body for c in node.cases], env, include_fallthrough=True)

    def _exec_branches(
        self, branches: Sequence[Sequence[cst.CSTNode]], env: Env, include_fallthrough: bool
    ) -> None:
        """Run alternative paths; afterwards a name one of them changed is dynamic."""
        before = dict(env.vars)
        outcomes: list[dict[str, Binding]] = []
        for body in branches:
            branch_env = env.copy()
            self._exec_block(body, branch_env, conditional=True)
            outcomes.append(branch_env.vars)
        if include_fallthrough:
            outcomes.append(before)
        changed = {name for out in outcomes for name, b in out.items() if before.get(name) is not b}
        for name in sorted(changed):
            bindings = [out[name] for out in outcomes if name in out]
            env.vars[name] = _merge(name, before.get(name), bindings)
            self._extend_template(before.get(name), env.vars[name])

    def _exec_augassign(self, node: cst.AugAssign, env: Env, conditional: bool) -> None:
        if not isinstance(node.target, cst.Name):
            return
        binding = env.lookup(node.target.value)
        value, deps = self._eval_tracked(node.value, env)
        if binding is None:
            return
        current = binding.value
        if isinstance(node.operator, cst.AddAssign):
            if isinstance(current, ListV):  # as `.extend()`: `messages += history` splices it
                binding.deps.extend(deps)
                if conditional:
                    current.items.append(Opaque(node.value, None, facts_of(value)))
                else:
                    current.items.extend(_list_items(value, node.value))
                return
            if isinstance(current, Str):
                new = concat(current, as_str(value, node.value))
                env.vars[node.target.value] = Binding(new, node, [binding, *deps])
                self._extend_template(binding, env.vars[node.target.value])
                return
        facts = facts_of(current) | facts_of(value)
        env.vars[node.target.value] = Binding(
            Opaque(node.target, node.target.value, facts),
            node,
            [binding, *deps],
        )

    def _exec_mutation(self, expr: cst.BaseExpression, env: Env, conditional: bool) -> None:
        """`messages.append(...)`, `.extend(...)`, `.insert(0, ...)` on a list being built."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return
        method = expr.func.attr.value
        if method not in {"append", "extend", "insert"} or not isinstance(
            expr.func.value, cst.Name
        ):
            return
        binding = env.lookup(expr.func.value.value)
        if binding is None or not isinstance(binding.value, ListV) or not expr.args:
            return
        items = binding.value.items
        argument = expr.args[-1].value
        value, deps = self._eval_tracked(argument, env)
        binding.deps.extend(deps)
        facts = facts_of(value)
        if conditional:  # a message that may or may not be there: one dynamic message
            items.append(Opaque(argument, None, facts))
        elif method == "append":
            items.append(value)
        elif method == "extend":
            items.extend(value.items if isinstance(value, ListV) else [Spread(value, argument)])
        elif len(expr.args) == 2 and _int_literal(expr.args[0].value) == 0:
            items.insert(0, value)
        else:  # inserted somewhere in the middle: where, the source does not say plainly
            items.append(Opaque(argument, None, facts))

    def _bind(
        self,
        target: cst.BaseExpression,
        value: Value,
        env: Env,
        statement: cst.CSTNode,
        deps: list[Binding],
    ) -> None:
        if isinstance(target, cst.Name):
            binding = Binding(value, statement, deps)
            env.vars[target.value] = binding
            self._note_template(target.value, value, statement, binding)
        elif isinstance(target, cst.Attribute):
            binding = Binding(value, statement, deps)
            owner = env.lookup(target.value.value) if isinstance(target.value, cst.Name) else None
            if owner is not None and isinstance(owner.value, SelfV):
                owner.value.attrs[target.attr.value] = value  # `self.system_prompt = ...`
            self._note_template(target.attr.value, value, statement, binding)
        elif isinstance(target, (cst.Tuple, cst.List)):
            facts = facts_of(value)
            for element in target.elements:
                inner = element.value
                self._bind(inner, Opaque(inner, None, facts), env, statement, [])

    def _note_template(
        self, name: str, value: Value, statement: cst.CSTNode, binding: Binding
    ) -> None:
        if (
            id(statement) in self.scan.prompt_assigns
            and isinstance(value, Str)
            and self._depth == 0
            and self.prompt_names.fullmatch(name)
        ):
            self.templates.append(RawTemplate(name, value, statement, binding))
            self._template_of[id(binding)] = len(self.templates) - 1

    def _extend_template(self, old: Binding | None, new: Binding) -> None:
        """A prompt-named template grown later (`+=`, or in a branch or loop): the template is
        what the name holds at the end, reported where it was first assigned."""
        index = self._template_of.get(id(old)) if old is not None else None
        if index is not None and isinstance(new.value, Str):
            first = self.templates[index]
            self.templates[index] = RawTemplate(first.name, new.value, first.node, new)
            self._template_of[id(new)] = index

    # -- call sites --------------------------------------------------------------------------
    def _build_call_sites(self, statement: cst.CSTNode, env: Env) -> None:
        if self._depth:  # inside a helper followed from a call: built once, elsewhere
            return
        for candidate in self.scan.candidates.get(id(statement), ()):
            reads: list[Binding] = []
            outer, self._reads = self._reads, reads
            try:
                site = sdk.build_call_site(candidate, self, env)
            except (_Budget, RecursionError):
                site = None
            finally:
                self._reads = outer
            if site is not None:
                site.reads = list(reads)
                self.call_sites.append(site)
                if site.api == "pydantic_ai.agent" and isinstance(statement, cst.Assign):
                    for target in statement.targets:  # for its `@agent.system_prompt` functions
                        if isinstance(target.target, cst.Name):
                            self._agents[target.target.value] = site

    # -- expressions -------------------------------------------------------------------------
    def _tick(self) -> None:
        self._steps += 1
        if self._steps > MAX_STEPS:
            raise _Budget

    def _eval_tracked(self, node: cst.BaseExpression, env: Env) -> tuple[Value, list[Binding]]:
        reads: list[Binding] = []
        outer, self._reads = self._reads, reads
        try:
            return self.eval(node, env), reads
        finally:
            self._reads = outer
            if outer is not None:
                outer.extend(reads)

    def qualified(self, node: cst.BaseExpression) -> str | None:
        chain = attribute_chain(node)
        if not chain:
            return None
        head = self.scan.imports.get(chain[0], chain[0])
        return ".".join([head, *chain[1:]])

    def lookup(self, name: str, env: Env) -> Binding | None:
        binding = env.lookup(name)
        if binding is not None and self._reads is not None:
            self._reads.append(binding)
        return binding

    def eval(self, node: cst.BaseExpression, env: Env) -> Value:
        self._tick()
        if isinstance(node, cst.SimpleString):
            try:
                literal = node.evaluated_value
            except (SyntaxError, ValueError):  # an escape CPython rejects (`"\\N{NOPE}"`)
                return Opaque(node)
            if isinstance(literal, bytes):
                return Opaque(node)
            return Str([literal], [node])
        if isinstance(node, cst.ConcatenatedString):
            # Flattened iteratively: thousands of implicitly joined literals must not recurse.
            pieces: list[cst.BaseExpression] = []
            current: cst.BaseExpression = node
            while isinstance(current, cst.ConcatenatedString):
                pieces.append(current.left)
                current = current.right
            pieces.append(current)
            return concat(*(as_str(self.eval(p, env), p) for p in pieces))
        if isinstance(node, cst.FormattedString):
            return self._eval_fstring(node, env)
        if isinstance(node, cst.Name):
            binding = self.lookup(node.value, env)
            if binding is None and node.value == "__file__":
                return PathV(files.MODULE_FILE)
            if binding is None:
                return Opaque(node, node.value, ref=self._import_ref(node.value))
            value = binding.value
            if isinstance(value, Opaque):
                # A dynamic value is reported where it is used, under the name it is used by.
                return Opaque(node, node.value, value.facts, value.history, value.ref)
            return value
        if isinstance(node, cst.Attribute):
            base = self.eval(node.value, env)
            if isinstance(base, ClientV):
                return base
            if isinstance(base, PathV) and node.attr.value == "parent":
                return PathV(files.parent(base.path))
            if isinstance(base, SelfV):
                attr = node.attr.value
                found = base.attrs.get(attr)
                if found is None:
                    in_class = base.class_env.vars.get(attr)
                    found = in_class.value if in_class is not None else None
                if found is not None and not isinstance(found, Opaque):
                    return found
                facts = facts_of(found) if found is not None else NO_FACTS
                if found is None:
                    facts = Facts(passed_in=True)  # set outside this class's __init__
                return Opaque(node, f"self.{attr}", facts)
            # `prompts.SYSTEM` on an imported module: a name the link stage may resolve.
            ref = f"{base.ref}.{node.attr.value}" if isinstance(base, Opaque) and base.ref else None
            return Opaque(node, None, facts_of(base), ref=ref)
        if isinstance(node, cst.Call):
            return self._eval_call(node, env)
        if isinstance(node, cst.BinaryOperation):
            return self._eval_binary(node, env)
        if isinstance(node, (cst.List, cst.Tuple)):
            items: list[Value] = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    items.append(Spread(self.eval(element.value, env), element))
                else:
                    items.append(self.eval(element.value, env))
            return ListV(items)
        if isinstance(node, cst.Dict):
            entries: dict[str, Value] = {}
            is_open = False
            for entry in node.elements:
                if isinstance(entry, cst.DictElement):
                    key = entry.key
                    if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
                        entries[key.evaluated_value] = self.eval(entry.value, env)
                    else:
                        is_open = True
                else:
                    is_open = True
            return DictV(entries, node, is_open)
        if isinstance(node, cst.Await):
            return self.eval(node.expression, env)
        if isinstance(node, (cst.Set, cst.SetComp)):
            return Opaque(node, None, Facts(unordered=True))
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.DictComp)):
            return self._eval_comprehension(node, env)
        if isinstance(node, cst.IfExp):
            facts = facts_of(self.eval(node.body, env)) | facts_of(self.eval(node.orelse, env))
            return Opaque(node, None, facts)
        if isinstance(node, cst.NamedExpr):
            assigned = self.eval(node.value, env)
            self._bind(node.target, assigned, env, node, [])
            return assigned
        if isinstance(node, cst.Subscript):
            facts = facts_of(self.eval(node.value, env))
            return Opaque(node, None, facts)
        if isinstance(node, (cst.BooleanOperation, cst.UnaryOperation, cst.Comparison)):
            return Opaque(node)
        return Opaque(node)

    def _eval_fstring(self, node: cst.FormattedString, env: Env) -> Value:
        raw = "r" in node.prefix.lower()
        quote = node.start[len(node.prefix) :]
        parts: list[Str] = []
        field_of: dict[int, int] | None = {}  # the field each slot comes from, for fixes
        for index, part in enumerate(node.parts):
            if isinstance(part, cst.FormattedStringText):
                parts.append(Str([_unescape(part.value, raw, quote)]))
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            value = self.eval(part.expression, env)
            # `{x=}` writes its own source text, then the value (its repr, unless a spec is given).
            debug = self._debug_text(part) if part.equal is not None else None
            conversion = part.conversion
            if debug is not None and conversion is None and part.format_spec is None:
                conversion = "r"
            plain = conversion is None and part.format_spec is None
            spec = _static_spec(part.format_spec, raw, quote)
            known = value.text if isinstance(value, Str) and value.is_static else None
            # `{RULES!r}`, `{RULES:>12}` of a known string: known text too.
            text = None if known is None or spec is None else formatted(known, conversion, spec)
            piece: Str
            if plain and isinstance(value, Str):
                piece = value
            elif text is not None:
                piece = Str([text])
            elif isinstance(value, Opaque) and value.node is part.expression:
                piece = as_str(value, part.expression)
            else:
                piece = Str([Pending(part.expression, _opaque_name(value), facts_of(value))])
            parts.append(piece if debug is None else concat(Str([debug]), piece))
            field_of = _fields_of(parts[-1], index, field_of)
        if not parts:
            return Str([""])
        result = concat(*parts)
        if field_of is not None:
            result.fstring = FString(node, field_of)
        return result

    def _debug_text(self, part: cst.FormattedStringExpression) -> str:
        """The text a `{expr=}` field writes before the value: its source up to the `=` and the
        blanks after it."""
        assert part.equal is not None
        code = self.module.code_for_node
        return "".join(
            (
                code(part.whitespace_before_expression),
                code(part.expression),
                code(part.whitespace_after_expression),
                code(part.equal.whitespace_before),
                "=",
                code(part.equal.whitespace_after),
            )
        )

    def _eval_binary(self, node: cst.BinaryOperation, env: Env) -> Value:
        if isinstance(node.operator, cst.Add) and isinstance(node.left, cst.BinaryOperation):
            return self._eval_sum(node, env)
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        divide = isinstance(node.operator, cst.Divide)
        if divide and isinstance(left, PathV) and isinstance(right, Str) and right.is_static:
            return PathV(files.join(left.path, right.text))
        if isinstance(node.operator, cst.Multiply) and isinstance(left, Str) and left.is_static:
            count = _int_literal(node.right)
            if count is not None and 0 <= count <= 10_000:
                return Str([left.text * count], left.literals)
        if isinstance(node.operator, cst.Add):
            return self._add(left, node.left, right, node.right, node)
        if isinstance(node.operator, cst.Modulo) and isinstance(left, Str):
            args: list[Value] | dict[str, Value] | None
            if isinstance(right, ListV):
                args = list(right.items)
            elif isinstance(right, DictV):
                args = dict(right.entries)
            else:
                args = [right]
            return percent_template(left, args, node.right)
        facts = facts_of(left) | facts_of(right)
        return Opaque(node, None, facts)

    def _eval_sum(self, node: cst.BinaryOperation, env: Env) -> Value:
        """`a + b + c + ...` folded left to right without recursing once per term."""
        operands: list[cst.BaseExpression] = []
        # The sum of the operands up to each one (`a + b` in `a + b + "x"`): a value made of
        # dynamic terms spans only them.
        sums: list[cst.BinaryOperation] = []
        current: cst.BaseExpression = node
        # Only the outer sum may be parenthesised: `(a + b) + c` keeps `(a + b)` as one operand.
        while (
            isinstance(current, cst.BinaryOperation)
            and isinstance(current.operator, cst.Add)
            and (current is node or not current.lpar)
        ):
            operands.append(current.right)
            sums.append(current)
            current = current.left
        operands.append(current)
        operands.reverse()
        sums.reverse()
        total = self.eval(operands[0], env)
        for operand, upto in zip(operands[1:], sums, strict=True):
            total = self._add(total, operands[0], self.eval(operand, env), operand, upto)
        return total

    def _add(
        self,
        left: Value,
        left_node: cst.CSTNode,
        right: Value,
        right_node: cst.CSTNode,
        node: cst.CSTNode,
    ) -> Value:
        if isinstance(left, ListV) or isinstance(right, ListV):
            return ListV(_list_items(left, left_node) + _list_items(right, right_node))
        if isinstance(left, Str) or isinstance(right, Str):
            return concat(as_str(left, left_node), as_str(right, right_node))
        facts = facts_of(left) | facts_of(right)
        return Opaque(node, None, facts)

    def _eval_comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.DictComp, env: Env
    ) -> Value:
        # What it iterates decides: a comprehension over a parameter is made from the caller's
        # data (passed in), over a set it is unordered.
        found: list[Facts] = []
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            iterated = self.eval(clause.iter, env)
            order = iteration_facts(clause.iter, iterated, self.qualified)
            found.append(facts_of(iterated) | dataclasses.replace(order, passed_in=True))
            clause = clause.inner_for_in
        return Opaque(node, None, union(found) if found else NO_FACTS)

    def _eval_call(self, node: cst.Call, env: Env) -> Value:
        if id(node) in self.scan.candidate_calls:
            return Opaque(node)  # an LLM response: built as a call site once, by its statement
        func = node.func
        qualified = self.qualified(func)
        known = self._eval_known_call(node, qualified, env)
        if known is not None:
            return known
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self.eval(func.value, env)
            result = self._eval_method(node, method, receiver, env)
            if result is None:
                result = self._eval_file_method(node, method, receiver, env)
            if result is not None:
                return result
            receiver_facts = facts_of(receiver)
            if method in {"keys", "values", "items"}:  # a dict view keeps the dict's order
                return Opaque(node, None, receiver_facts)
            own = Facts(
                volatile=is_volatile(qualified),
                unordered=method in UNORDERED_METHODS or qualified in UNORDERED_CALLS,
            )
            facts = own | receiver_facts | self._arg_facts(node, env)
            return Opaque(node, None, facts, ref=self._call_ref(func, env))
        if isinstance(func, cst.Name):
            binding = self.lookup(func.value, env)
            if binding is not None and isinstance(binding.value, FuncV):
                return self._call_helper(node, binding.value, env)
            if binding is None and func.value == "open" and node.args:
                target = self._path_of(node.args[0].value, env)
                if target is not None:
                    return PathV(target.path, opened=True)
            if func.value == "str" and len(node.args) == 1:
                converted = self.eval(node.args[0].value, env)
                if isinstance(converted, Str):
                    return converted
                facts = facts_of(converted)
                name = converted.name if isinstance(converted, Opaque) else None
                return Opaque(node.args[0].value, name, facts)
            if func.value in ORDERING_CALLS:
                facts = self._arg_facts(node, env)
                return Opaque(node, None, facts.ordered())
        own = Facts(volatile=is_volatile(qualified), unordered=qualified in UNORDERED_CALLS)
        return Opaque(node, None, own | self._arg_facts(node, env), ref=self._call_ref(func, env))

    def _add_agent_prompt(self, node: cst.FunctionDef, env: Env) -> None:
        """pydantic-ai `@agent.system_prompt` / `@agent.instructions` functions: what they return
        is appended to that agent's system prompt, in definition order."""
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):  # `@agent.system_prompt(dynamic=True)`
                target = target.func
            if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
                continue
            site = self._agents.get(target.value.value)
            if site is None or target.attr.value not in {"system_prompt", "instructions"}:
                continue
            try:
                returned = self._exec_function(node, env, None, building=False)
            except (_Budget, RecursionError):
                returned = None
            content = returned if returned is not None else Opaque(node.name, node.name.value)
            site.system.append(RawBlock(as_str(content, node.name)))

    def exports(self) -> list[RawTemplate]:
        """Module-level string templates, and module-level functions that return one (exported
        as `name()`, their parameters left dynamic): what another module may import."""
        found: list[RawTemplate] = []
        for name, binding in self.module_env.vars.items():
            value = binding.value
            if isinstance(value, Str) and value.parts:
                found.append(RawTemplate(name, value, binding.statement or self.module, binding))
            elif isinstance(value, FuncV):
                try:
                    returned = self._exec_function(value.node, value.env, None, building=False)
                except (_Budget, RecursionError):
                    continue
                if isinstance(returned, Str):
                    found.append(RawTemplate(f"{name}()", returned, value.node, binding))
        return found

    def _call_ref(self, func: cst.BaseExpression, env: Env) -> str | None:
        """`build_system(...)` or `helpers.build(...)` imported from another module: the link
        stage may inline the template it returns (its parameters stay dynamic)."""
        chain = attribute_chain(func)
        if not chain or env.lookup(chain[0]) is not None:
            return None
        head = self._import_ref(chain[0])
        return ".".join([head, *chain[1:]]) + "()" if head is not None else None

    def _import_ref(self, name: str) -> str | None:
        """What an imported name refers to, when it may be a module of the project: not the
        standard library's, not an LLM SDK's."""
        target = self.scan.imports.get(name)
        if target is None:
            return None
        top = target.split(".")[0]
        if top in sys.stdlib_module_names or top in _SDK_TOPS:
            return None
        return target

    def _eval_known_call(self, node: cst.Call, qualified: str | None, env: Env) -> Value | None:
        """Calls recognised by what the name refers to through the module's imports."""
        if qualified is None:
            return None
        if qualified in CLIENT_CONSTRUCTORS:
            return ClientV(
                CLIENT_CONSTRUCTORS[qualified], self._keyword_text(node, "base_url", env)
            )
        if qualified in {"textwrap.dedent", "inspect.cleandoc"} and node.args:
            value = self.eval(node.args[0].value, env)
            if isinstance(value, Str):
                fn = textwrap.dedent if qualified == "textwrap.dedent" else inspect.cleandoc
                return map_text(value, fn)
            return None
        found = self._eval_file_call(node, qualified, env) or self._eval_framework(
            node, qualified, env
        )
        if found is not None:
            return found
        if qualified == "json.dumps" and node.args and node.args[0].keyword is None:
            return self._eval_json_dumps(node, env)
        if RECORD_CONSTRUCTORS.search(qualified):
            entries = {
                arg.keyword.value: self.eval(arg.value, env)
                for arg in node.args
                if arg.keyword is not None
            }
            return DictV(entries, node, any(arg.keyword is None for arg in node.args))
        return None

    def _path_of(self, node: cst.BaseExpression, env: Env) -> PathV | None:
        value = self.eval(node, env)
        if isinstance(value, PathV):
            return value
        if isinstance(value, Str) and value.is_static:
            return PathV(value.text)
        return None

    def _eval_file_call(self, node: cst.Call, qualified: str, env: Env) -> Value | None:
        """Paths, file reads and template engines that load prompt text from files."""
        args = [a.value for a in node.args if a.keyword is None]
        if qualified in {"pathlib.Path", "pathlib.PurePath", "os.path.join"} and args:
            first = self._path_of(args[0], env)
            rest = [self.eval(a, env) for a in args[1:]]
            texts = [r.text for r in rest if isinstance(r, Str) and r.is_static]
            if first is not None and len(texts) == len(rest):
                return PathV(files.join(first.path, *texts))
            return None
        if qualified in {"os.path.dirname"} and args:
            inner = self._path_of(args[0], env)
            return PathV(files.parent(inner.path)) if inner is not None else None
        if qualified in {"os.path.abspath", "os.path.realpath", "os.path.normpath"} and args:
            return self._path_of(args[0], env)
        if qualified in {"importlib.resources.files", "importlib_resources.files"} and args:
            package = args[0]
            if isinstance(package, cst.Name) and package.value in {"__package__", "__name__"}:
                return PathV(files.MODULE_DIR)
            return None
        if qualified == "jinja2.FileSystemLoader" and args:
            directory = self._path_of(args[0], env)
            return JinjaEnvV(directory.path if directory is not None else None)
        if qualified in {"jinja2.Environment", "jinja2.sandbox.SandboxedEnvironment"}:
            loader = next(
                (
                    self.eval(a.value, env)
                    for a in node.args
                    if a.keyword and a.keyword.value == "loader"
                ),
                None,
            )
            return JinjaEnvV(loader.directory if isinstance(loader, JinjaEnvV) else None)
        if qualified == "jinja2.Template" and args:
            source = self.eval(args[0], env)
            as_file = files.reuse(source, files.JINJA, node)
            if as_file is not None:
                return as_file
            return files.inline_jinja(source, node) if isinstance(source, Str) else None
        if qualified == "string.Template" and args:
            return files.reuse(self.eval(args[0], env), files.TEMPLATE, node)
        return None

    def _eval_file_method(
        self, node: cst.Call, method: str, receiver: Value, env: Env
    ) -> Value | None:
        if isinstance(receiver, PathV):
            if method in {"read_text", "read"}:
                return files.read(receiver, node)
            if method == "open":
                return PathV(receiver.path, opened=True)
            if method in {"joinpath"} and node.args:
                part = self.eval(node.args[0].value, env)
                if isinstance(part, Str) and part.is_static:
                    return PathV(files.join(receiver.path, part.text))
            if method in {"resolve", "absolute"}:
                return receiver
            return None
        if isinstance(receiver, JinjaEnvV):
            if method == "get_template" and node.args and receiver.directory is not None:
                name = self.eval(node.args[0].value, env)
                if isinstance(name, Str) and name.is_static:
                    path = files.join(receiver.directory, name.text)
                    return Opaque(node, name.text, ref=files.file_ref(path, files.JINJA))
            if method == "from_string" and node.args:
                source = self.eval(node.args[0].value, env)
                return files.inline_jinja(source, node) if isinstance(source, Str) else None
            return None
        if method in {"format", "format_map"}:
            return files.reuse(receiver, files.FORMAT, node)
        uses_template = method in {"render", "substitute", "safe_substitute", "strip"}
        is_file = isinstance(receiver, Opaque) and bool(
            receiver.ref and files.split_ref(receiver.ref)
        )
        if uses_template and is_file:
            return receiver  # the template's text; its placeholders are its slots
        return None

    def _eval_framework(self, node: cst.Call, qualified: str, env: Env) -> Value | None:
        """LangChain / LlamaIndex message classes and templates, `string.Template` literals."""
        if qualified.split(".")[0] not in {
            "langchain",
            "langchain_core",
            "langchain_community",
            "llama_index",
            "string",
        }:
            return None
        first = node.args[0].value if node.args and node.args[0].keyword is None else None
        content = first or next(
            (
                a.value
                for a in node.args
                if a.keyword and a.keyword.value in ("content", "template")
            ),
            None,
        )
        for suffix, role in MESSAGE_CLASSES.items():
            if qualified.endswith("." + suffix) and content is not None:
                text = self.eval(content, env)
                if suffix.endswith("from_template"):
                    text = self._as_format_template(text, node)
                return DictV({"role": Str([role]), "content": text}, node)
        if qualified.endswith(tuple("." + c for c in FORMAT_TEMPLATE_CLASSES)) and content:
            return self._as_format_template(self.eval(content, env), node)
        if qualified.endswith("MessagesPlaceholder"):
            return Spread(Opaque(node, "history", history=True), node)
        if qualified == "string.Template" and content is not None:
            text = self.eval(content, env)
            return files.template_fields(text, node) if isinstance(text, Str) else None
        return None

    def _as_format_template(self, value: Value, node: cst.CSTNode) -> Value:
        """A `{field}` template the framework fills in later: its fields are slots."""
        if isinstance(value, Str):
            return format_fields(value, node)
        return files.reuse(value, files.FORMAT, node) or value

    def _eval_json_dumps(self, node: cst.Call, env: Env) -> Value:
        """A literal serialises to fixed text; anything else has the key order of whatever built
        it at run time, unless `sort_keys=True` fixes it."""
        value = self.eval(node.args[0].value, env)
        if is_static_structure(value):
            return Str([structure_text(value)])
        sort_keys = next(
            (
                a.value
                for a in node.args
                if a.keyword is not None and a.keyword.value == "sort_keys"
            ),
            None,
        )
        sorted_keys = isinstance(sort_keys, cst.Name) and sort_keys.value == "True"
        own = Facts(unsorted_json=not sorted_keys, json_call=None if sorted_keys else node)
        return Opaque(node, None, own | facts_of(value))

    def _eval_method(self, node: cst.Call, method: str, receiver: Value, env: Env) -> Value | None:
        if not isinstance(receiver, Str):
            return None
        if method == "format":
            positional = [
                self.eval(a.value, env) for a in node.args if a.keyword is None and not a.star
            ]
            keywords = {
                a.keyword.value: self.eval(a.value, env) for a in node.args if a.keyword is not None
            }
            arg_nodes = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
            positional_nodes = [a.value for a in node.args if a.keyword is None and not a.star]

            def lookup(name: str, index: int) -> Value | None:
                if index >= 0:
                    return positional[index] if index < len(positional) else None
                return keywords.get(name)

            def arg_node(name: str, index: int) -> cst.CSTNode | None:
                if index >= 0:
                    return positional_nodes[index] if index < len(positional_nodes) else None
                return arg_nodes.get(name)

            return format_template(receiver, lookup, arg_node, node) or Opaque(node)
        if method == "join" and len(node.args) == 1:
            return self._eval_join(receiver, node.args[0].value, env, not node.args[0].star)
        if method in {"strip", "lstrip", "rstrip"}:
            chars = self._static_arg(node, env)
            return strip_edges(receiver, chars, method != "rstrip", method != "lstrip")
        if method in _STR_METHODS and not node.args and receiver.is_static:
            return Str([_STR_METHODS[method](receiver.text)], receiver.literals)
        return None

    def _eval_join(
        self, separator: Str, argument: cst.BaseExpression, env: Env, sortable: bool = False
    ) -> Value:
        items = self.eval(argument, env)
        if isinstance(items, ListV) and not any(isinstance(i, Spread) for i in items.items):
            pieces: list[Str] = []
            for index, item in enumerate(items.items):
                if index:
                    pieces.append(separator)
                pieces.append(as_str(item, argument))
            return concat(*pieces) if pieces else Str([""])
        facts = facts_of(items) | iteration_facts(argument, items, self.qualified)
        return Str([Pending(argument, None, facts, sortable=sortable)])

    def _call_helper(self, node: cst.Call, func: FuncV, env: Env) -> Value:
        """A call to a function of this module: follow its return value (parameters bound)."""
        if self._depth >= MAX_CALL_DEPTH:
            facts = self._arg_facts(node, env)
            return Opaque(node, None, facts)
        args = {}
        params = func.node.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        index = 0
        for arg in node.args:
            if arg.star:
                continue
            if arg.keyword is not None:
                args[arg.keyword.value] = self.eval(arg.value, env)
            elif index < len(positional):
                args[positional[index]] = self.eval(arg.value, env)
                index += 1
        returned = self._exec_function(func.node, func.env, args, building=False)
        if returned is None:
            return Opaque(node, func.node.name.value + "()")
        if isinstance(returned, Opaque):
            return Opaque(node, func.node.name.value + "()", returned.facts)
        return returned

    def _exec_function(
        self, node: cst.FunctionDef, defining: Env, args: dict[str, Value] | None, building: bool
    ) -> Value | None:
        env = Env(defining)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            name = param.name.value
            if args is not None and name in args:
                env.vars[name] = Binding(args[name], None)
            else:
                env.vars[name] = Binding(Opaque(param.name, name, _PASSED_IN), None)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                env.vars[star.name.value] = Binding(
                    Opaque(star.name, star.name.value, _PASSED_IN), None
                )
        outer_returns, self._returns = self._returns, []
        if not building:
            self._depth += 1
        try:
            body = node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
            if building:
                self._exec_scope(body, env)
            else:
                self._exec_block(body, env, conditional=False)
            returns = self._returns
        finally:
            self._returns = outer_returns
            if not building:
                self._depth -= 1
        if not returns:
            return None
        if len(returns) == 1:
            return returns[0]
        facts = union(facts_of(r) for r in returns)
        return Opaque(node.name, node.name.value + "()", facts)

    # -- small helpers -------------------------------------------------------------------------
    def _arg_facts(self, node: cst.Call, env: Env) -> Facts:
        """What a call's result inherits from its arguments. A set written as an argument
        (`dump(exclude={"id"})`) is an option, not something the result iterates; a value
        derived from iterating one (a loop variable) keeps its order problem."""
        facts = NO_FACTS
        for arg in node.args:
            fact = facts_of(self.eval(arg.value, env))
            if isinstance(arg.value, (cst.Set, cst.SetComp)) and not (
                isinstance(node.func, cst.Name) and node.func.value in ORDER_KEEPING_CALLS
            ):
                fact = fact.ordered()
            facts = facts | fact
        return facts

    def _static_arg(self, node: cst.Call, env: Env) -> str | None:
        if not node.args:
            return None
        value = self.eval(node.args[0].value, env)
        return value.text if isinstance(value, Str) and value.is_static else None

    def _keyword_text(self, node: cst.Call, keyword: str, env: Env) -> str | None:
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                value = self.eval(arg.value, env)
                if isinstance(value, Str) and value.is_static:
                    return value.text
        return None

    def keyword_args(self, node: cst.Call, env: Env) -> dict[str, Value]:
        return {
            arg.keyword.value: self.eval(arg.value, env)
            for arg in node.args
            if arg.keyword is not None
        }

    def positional_args(self, node: cst.Call, env: Env) -> list[Value]:
        return [
            self.eval(arg.value, env) for arg in node.args if arg.keyword is None and not arg.star
        ]


def _list_items(value: Value, node: cst.CSTNode) -> list[Value]:
    if isinstance(value, ListV):
        return list(value.items)
    return [Spread(value, node)]


def _merge(name: str, before: Binding | None, bindings: list[Binding]) -> Binding:
    """The value of a name after alternative paths: the common static start is kept."""
    deps = [d for b in bindings for d in (b, *b.deps)]
    values = [b.value for b in bindings]
    facts = union(facts_of(v) for v in values)
    # Report a dynamic tail where the name was changed, not where it was first assigned.
    changed = [b for b in bindings if b is not before]
    statement = (changed or bindings)[-1].statement
    if (
        before is not None
        and isinstance(before.value, Str)
        and all(
            isinstance(v, Str) and v.parts[: len(before.value.parts)] == before.value.parts
            for v in values
        )
    ):
        kept = len(before.value.parts)
        # The tail carries only what the branches added: the kept start is reported on its own.
        added = union(facts_of(Str(v.parts[kept:])) for v in values if isinstance(v, Str))
        tail = Pending(statement or cst.Name(name), name, added)
        return Binding(Str([*before.value.parts, tail], before.value.literals), statement, deps)
    if all(v is values[0] for v in values):
        return Binding(values[0], statement, deps)
    node = statement if statement is not None else cst.Name(name)
    return Binding(Opaque(node, name, facts), statement, deps)


def _static_spec(
    spec: Sequence[cst.BaseFormattedStringContent] | None, raw: bool, quote: str
) -> str | None:
    """A replacement field's format spec as text ("" for none); None when a field nests in it."""
    if spec is None:
        return ""
    texts = [p.value for p in spec if isinstance(p, cst.FormattedStringText)]
    return _unescape("".join(texts), raw, quote) if len(texts) == len(spec) else None


def _unescape(text: str, raw: bool, quote: str) -> str:
    text = text.replace("{{", "{").replace("}}", "}")
    if raw or "\\" not in text:
        return text
    import ast

    try:
        value = ast.literal_eval(quote + text + quote)
    except (SyntaxError, ValueError):
        return text
    return value if isinstance(value, str) else text


def _opaque_name(value: Value) -> str | None:
    return value.name if isinstance(value, Opaque) else None


def _del_targets(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [e.value.value for e in node.elements if isinstance(e.value, cst.Name)]
    return []


def _int_literal(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value)
    return None


def _self_arg(node: cst.FunctionDef, instance: SelfV | None) -> dict[str, Value] | None:
    """A method's first parameter bound to its class's `self` (static methods aside)."""
    params = (*node.params.posonly_params, *node.params.params)
    if instance is None or not params:
        return None
    decorators = {d.decorator.value for d in node.decorators if isinstance(d.decorator, cst.Name)}
    if "staticmethod" in decorators or "classmethod" in decorators:
        return None
    return {params[0].name.value: instance}


def _fields_of(piece: Str, index: int, known: dict[int, int] | None) -> dict[int, int] | None:
    """`known` with the slots of an f-string's field `index` added; None once a slot shows up
    twice (which field it stands for is then ambiguous)."""
    if known is None:
        return None
    for part in piece.parts:
        if isinstance(part, Pending):
            if id(part) in known:
                return None
            known[id(part)] = index
    return known


def _computed_at_import(env: Env) -> None:
    """Module-level values are computed once per process: mark their dynamic parts so."""
    for binding in env.vars.values():
        value = binding.value
        if isinstance(value, Opaque):
            binding.value = dataclasses.replace(value, facts=value.facts.at_import())
        elif isinstance(value, Str):
            for part in value.parts:
                if isinstance(part, Pending) and not part.fill_later:
                    part.facts = part.facts.at_import()
