"""What each SDK's call sends, in cache order: turns a recognised call's arguments into a
`RawCallSite` (tools, system/instructions, messages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from promptlint.extract.raw import RawBlock, RawCacheControl, RawCallSite, RawMessage
from promptlint.extract.scan import Candidate
from promptlint.extract.values import (
    ClientV,
    DictV,
    ListV,
    Opaque,
    Pending,
    Spread,
    Str,
    Value,
    as_str,
    facts_of,
    format_fields,
    is_static_structure,
    structure_text,
)

if TYPE_CHECKING:
    from promptlint.extract.interpret import Env, Interpreter

# The ttl of a breakpoint whose value the source does not fix (None: no ttl given, the default).
UNKNOWN_TTL = "?"

_PROVIDER_OF_API = {
    "openai.chat": "openai",
    "openai.responses": "openai",
    "anthropic.messages": "anthropic",
    "gemini.generate_content": "gemini",
    "litellm.completion": "litellm",
    "langchain.prompt": "langchain",
    "pydantic_ai.agent": "pydantic_ai",
}

# Keywords a call must have to count as that API when the module does not import its SDK and the
# client's origin is unknown (it was passed in): they tell an LLM call from, say, Twilio's
# `client.messages.create(to=..., body=...)`.
_SHAPE_KEYWORDS = {
    "openai.chat": {"messages", "model"},
    "openai.responses": {"input", "model"},
    "anthropic.messages": {"messages", "max_tokens"},
    "gemini.generate_content": {"contents", "model"},
    "litellm.completion": {"messages"},
    "langchain.prompt": set(),
    "pydantic_ai.agent": set(),
}


def build_call_site(candidate: Candidate, interp: Interpreter, env: Env) -> RawCallSite | None:
    call = candidate.call
    api = candidate.api
    client = _client_of(call, interp, env)
    sdk = _PROVIDER_OF_API[api]
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    if not (
        candidate.via_import
        or sdk in interp.scan.sdk_imports
        or (client is not None and client.sdk == sdk)
        or _SHAPE_KEYWORDS[api] <= keywords
    ):
        return None
    kwargs = interp.keyword_args(call, env)
    positional = interp.positional_args(call, env)
    site = RawCallSite(api=api, provider=_PROVIDER_OF_API[api], node=call)
    if client is not None:
        site.base_url = client.base_url
    site.model = _static_text(kwargs.get("model"))
    if api in {"openai.chat", "litellm.completion"}:
        if site.model is None and positional and api == "litellm.completion":
            site.model = _static_text(positional[0])
        messages = kwargs.get("messages")
        if messages is None and api == "litellm.completion" and len(positional) > 1:
            messages = positional[1]
        site.tools = _tools(kwargs.get("tools"), call)
        site.messages = _messages(messages, call) if messages is not None else []
    elif api == "openai.responses":
        site.tools = _tools(kwargs.get("tools"), call)
        if "instructions" in kwargs:
            site.system = _blocks(kwargs["instructions"], _arg_node(call, "instructions"))
        if "input" in kwargs:
            site.messages = _messages(kwargs["input"], call, single_role="user")
    elif api == "anthropic.messages":
        site.tools = _tools(kwargs.get("tools"), call)
        site.tool_breakpoints = _tool_breakpoints(kwargs.get("tools"))
        if "system" in kwargs:
            site.system = _blocks(kwargs["system"], _arg_node(call, "system"))
            if isinstance(kwargs["system"], Str) and _arg_node(call, "system") is not call:
                site.system_string = _arg_node(call, "system")
        if "messages" in kwargs:
            site.messages = _messages(kwargs["messages"], call)
        site.cache_control = _cache_control(kwargs.get("cache_control"), call)
    elif api == "langchain.prompt":
        messages = positional[0] if positional else kwargs.get("messages")
        if messages is not None:
            site.messages = _messages(_langchain_messages(messages, call), call)
    elif api == "pydantic_ai.agent":
        model = positional[0] if positional else kwargs.get("model")
        site.model = _static_text(model)
        for keyword in ("system_prompt", "instructions"):
            if keyword in kwargs:
                value = kwargs[keyword]
                items = value.items if isinstance(value, ListV) else [value]
                for item in items:
                    site.system.extend(_blocks(item, _arg_node(call, keyword)))
    elif api == "gemini.generate_content":
        config = kwargs.get("config")
        if isinstance(config, DictV):
            site.tools = _tools(config.entries.get("tools"), call)
            instruction = config.entries.get("system_instruction")
            if instruction is not None:
                site.system = _blocks(instruction, config.node, text_key="text")
        if "contents" in kwargs:
            site.messages = _gemini_contents(kwargs["contents"], call)
    return site


def _client_of(call: cst.Call, interp: Interpreter, env: Env) -> ClientV | None:
    root: cst.BaseExpression = call.func
    # `client.chat.completions.create` -> `client`; `client.aio.models.x` -> `client.aio` (a client)
    for _ in range(3):
        if not isinstance(root, cst.Attribute):
            break
        root = root.value
        value = interp.eval(root, env)
        if isinstance(value, ClientV):
            return value
    return None


def _arg_node(call: cst.Call, keyword: str) -> cst.CSTNode:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return call


def _static_text(value: Value | None) -> str | None:
    if isinstance(value, Str) and value.is_static:
        return value.text
    return None


def _tools(value: Value | None, call: cst.Call) -> Str | None:
    """The tools as text: a literal list is static (its JSON is what the SDK sends)."""
    if value is None:
        return None
    if is_static_structure(value):
        return Str([structure_text(value)])
    facts = facts_of(value)
    node = _arg_node(call, "tools")
    return Str([Pending(node, "tools", facts)])


def _tool_breakpoints(value: Value | None) -> list[tuple[RawCacheControl, int | None]]:
    """`cache_control` on Anthropic tool definitions: a breakpoint after that tool. For a literal
    list, also where that tool ends in the tools' text (`_structure_text` of the list)."""
    found: list[tuple[RawCacheControl, int | None]] = []
    if not isinstance(value, ListV):
        return found
    static = is_static_structure(value)
    end = len("[")
    for index, tool in enumerate(value.items):
        if static:
            end += (len(", ") if index else 0) + len(structure_text(tool))
            if index == len(value.items) - 1:
                end += len("]")  # the last tool's breakpoint covers the whole list
        if isinstance(tool, DictV):
            control = _cache_control(tool.entries.get("cache_control"), tool.node)
            if control is not None:
                found.append((control, end if static else None))
    return found


def _blocks(value: Value, node: cst.CSTNode, text_key: str = "text") -> list[RawBlock]:
    """A system prompt or a message's content: a string, or a list of content blocks."""
    if isinstance(value, ListV):
        blocks: list[RawBlock] = []
        for item in value.items:
            if isinstance(item, DictV):
                blocks.append(_content_block(item, text_key))
            elif isinstance(item, Spread):
                blocks.append(RawBlock(as_str(item.value, item.node)))
            else:
                blocks.append(RawBlock(as_str(item, node)))
        return blocks
    if isinstance(value, DictV):
        if "parts" in value.entries:  # a Gemini Content used as the system instruction
            return _blocks(value.entries["parts"], value.node, "text")
        return [_content_block(value, text_key)]
    return [RawBlock(as_str(value, node))]


def _content_block(block: DictV, text_key: str) -> RawBlock:
    text = block.entries.get(text_key)
    if text is None and text_key != "text":
        text = block.entries.get("text")
    content = as_str(text, block.node) if text is not None else _non_text_block(block)
    return RawBlock(content, _cache_control(block.entries.get("cache_control"), block.node))


def _non_text_block(block: DictV) -> Str:
    """An image, document or tool block: its bytes are not source text, so it is a slot."""
    kind = block.entries.get("type")
    name = kind.text if isinstance(kind, Str) and kind.is_static else "block"
    facts = facts_of(block)
    return Str([Pending(block.node, f"<{name}>", facts)])


def _cache_control(value: Value | None, node: cst.CSTNode) -> RawCacheControl | None:
    if value is None:
        return None
    ttl: str | None = UNKNOWN_TTL  # a cache_control the source does not show
    where: cst.CSTNode = node
    if isinstance(value, DictV) and not value.open:
        given = value.entries.get("ttl")
        ttl = None if given is None else (_static_text(given) or UNKNOWN_TTL)
        where = value.node
    return (ttl, where)


def _messages(value: Value, call: cst.Call, single_role: str | None = None) -> list[RawMessage]:
    """A message list. With `single_role` (Responses `input`), a string or a value the source
    does not show is one message of that role rather than a spliced history."""
    if single_role is not None and isinstance(value, (Str, Opaque)):
        node = value.node if isinstance(value, Opaque) else _arg_node(call, "input")
        return [RawMessage(single_role, _blocks(value, node), node)]
    if not isinstance(value, ListV):
        node = value.node if isinstance(value, Opaque) else _arg_node(call, "messages")
        return [_history(value, node)]
    messages: list[RawMessage] = []
    for item in value.items:
        if isinstance(item, Spread):
            inner = item.value
            if isinstance(inner, ListV):
                messages.extend(_messages(inner, call))
            else:
                messages.append(_history(inner, item.node))
        elif isinstance(item, DictV):
            role = _static_text(item.entries.get("role")) or "?"
            content = item.entries.get("content")
            if content is None and "parts" in item.entries:
                content = item.entries["parts"]
            blocks = _blocks(content, item.node) if content is not None else []
            messages.append(RawMessage(role, blocks, item.node))
        else:
            node = item.node if isinstance(item, Opaque) else call
            facts = facts_of(item)
            slot = Pending(node, None, facts)
            messages.append(RawMessage("?", [RawBlock(Str([slot]))], node))
    return messages


def _history(value: Value, node: cst.CSTNode) -> RawMessage:
    facts = facts_of(value)
    name = value.name if isinstance(value, Opaque) else None
    slot = Pending(node, name, facts, history=True)
    return RawMessage("history", [RawBlock(Str([slot]))], node)


def _gemini_contents(value: Value, call: cst.Call) -> list[RawMessage]:
    node = _arg_node(call, "contents")
    if (
        isinstance(value, ListV)
        and value.items
        and all(
            isinstance(i, DictV) and ("role" in i.entries or "parts" in i.entries)
            for i in value.items
        )
    ):
        return _messages(value, call)
    if isinstance(value, ListV):
        # A list of strings and parts is one user turn.
        return [RawMessage("user", _blocks(value, node), node)]
    # A string, or a variable the source does not show: taken as the user's turn.
    return [RawMessage("user", _blocks(value, node), node)]


_LANGCHAIN_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
}


def _langchain_messages(value: Value, node: cst.CSTNode) -> Value:
    """`ChatPromptTemplate.from_messages` items: `(role, "{field} text")` tuples (a format
    template), message objects, and `MessagesPlaceholder` or `("placeholder", ...)` (history)."""
    if not isinstance(value, ListV):
        return value
    items: list[Value] = []
    for item in value.items:
        if not (isinstance(item, ListV) and len(item.items) == 2):
            items.append(item)
            continue
        role, text = item.items
        role_name = _static_text(role) or ""
        if role_name == "placeholder":
            items.append(Spread(Opaque(node, "history", history=True), node))
            continue
        if isinstance(text, Str):
            text = format_fields(text, text.literals[0] if text.literals else node)
        role_value = Str([_LANGCHAIN_ROLES.get(role_name, "?")])
        items.append(DictV({"role": role_value, "content": text}, node))
    return ListV(items)
