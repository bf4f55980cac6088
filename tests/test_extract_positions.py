"""Source positions: `node_spans` against libcst's PositionProvider, and the spans the extractor
puts on slots, call sites, messages and breakpoints (1-based lines and columns, end exclusive)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from conftest import extract, line_of, locate, only_site
from libcst.metadata import MetadataWrapper, PositionProvider

from promptlint.extract.positions import node_spans
from promptlint.model import CacheControl, Span

NODE_TYPES = (
    cst.Name,
    cst.Call,
    cst.SimpleString,
    cst.Attribute,
    cst.FormattedString,
    cst.FormattedStringExpression,
    cst.ConcatenatedString,
)

SOURCES = {
    "multiline-strings": textwrap.dedent(
        '''\
        import textwrap
        PROMPT = textwrap.dedent("""
            Line one {x}.
            Line two.
        """)


        def f(a, b):
            # a comment
            return a.b.c(f"x {a!r:>10} y", 'z' "w", b=f"""
        multi {b}
        line {b.c(1)!s}""")
        '''
    ),
    "crlf": (
        'x = "a"\r\n'
        "def g(y):\r\n"
        '    """Doc.\r\n    more."""\r\n'
        '    return f"v {y}" + str(y)\r\n'
        "\r\n"
        "z = g(\r\n"
        '    "q",\r\n'
        ")\r\n"
    ),
    "tabs": 'def g(y):\n\tif y:\n\t\treturn f"v {y}\tw" + h.i(y)\n\treturn "\t".join([y])\n',
    "unicode": (
        'def grüße(名前):\n    return f"こんにちは {名前} 😀 " + grüße.ß("é")\nΩ = grüße("ü")\n'
    ),
    "continuation": (
        "value = first.second(\n"
        "    arg,\n"
        ") + \\\n"
        '    other("x" \\\n'
        '          "y")\n'
        "@decorator(name='d')\n"
        "class C(Base):\n"
        "    attr: str = f'{value!r}'\n"
    ),
}


def libcst_spans(module: cst.Module) -> dict[int, tuple[cst.CSTNode, Span]]:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {
        id(node): (node, Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1))
        for node, r in positions.items()
        if isinstance(node, NODE_TYPES)
    }


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_node_spans_agree_with_libcst(key: str) -> None:
    module = cst.parse_module(SOURCES[key])
    expected = libcst_spans(module)
    got = node_spans(module, [node for node, _ in expected.values()])
    assert {k: span for k, (_, span) in expected.items()} == got
    # Every kind of node asked for is present in each sample (the comparison is not vacuous).
    assert {type(node) for node, _ in expected.values()} >= {cst.Name, cst.Call, cst.SimpleString}


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_node_spans_of_a_subset(key: str) -> None:
    module = cst.parse_module(SOURCES[key])
    expected = libcst_spans(module)
    nodes = [node for node, _ in expected.values()]
    subset = [nodes[0], nodes[len(nodes) // 2], nodes[-1]]
    got = node_spans(module, subset)
    assert got == {id(n): expected[id(n)][1] for n in subset}


def test_node_spans_examples() -> None:
    module = cst.parse_module('x = 1\ny = f"a {x} b"\n')
    fstring = module.body[1].body[0].value  # type: ignore[attr-defined]
    inner = fstring.parts[1].expression
    assert node_spans(module, [fstring, inner]) == {
        id(fstring): Span(2, 5, 2, 15),
        id(inner): Span(2, 10, 2, 11),
    }


def test_node_spans_of_nothing() -> None:
    assert node_spans(cst.parse_module("x = 1\n"), []) == {}


def test_node_spans_skips_nodes_outside_the_module() -> None:
    module = cst.parse_module("x = y\n")
    name = module.body[0].body[0].value  # type: ignore[attr-defined]
    stranger = cst.Name("z")
    assert node_spans(module, [stranger, name]) == {id(name): Span(1, 5, 1, 6)}


# -- spans the extractor records ----------------------------------------------------------------


def call_span(source: str, prefix: str = "client.") -> Span:
    """libcst's span of the (first) call whose source starts with `prefix`."""
    module = cst.parse_module(textwrap.dedent(source))
    for node, span in libcst_spans(module).values():
        if isinstance(node, cst.Call) and module.code_for_node(node).startswith(prefix):
            return span
    raise AssertionError(f"no call starting with {prefix!r}")


def system_slots(source: str) -> list[tuple[str, Span]]:
    site = only_site(source)
    return [(s.name, s.span) for b in site.messages[0].blocks for s in b.content.slots]


def chat(body: str, params: str = "q, v, w, today") -> str:
    return (
        "from openai import OpenAI\n"
        "client = OpenAI()\n"
        f"def handle({params}):\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")
        + "    return client.chat.completions.create(\n"
        '        model="gpt-4o",\n'
        "        messages=[\n"
        '            {"role": "system", "content": prompt},\n'
        '            {"role": "user", "content": q},\n'
        "        ],\n"
        "    )\n"
    )


def test_fstring_slot_points_at_the_interpolated_expression() -> None:
    src = chat('prompt = f"Today is {today}. Rules."')
    assert system_slots(src) == [("today", locate(src, "{today}", part="today"))]


def test_fstring_slot_with_conversion_and_spec_points_at_the_expression() -> None:
    src = chat('prompt = f"Today is {today!r:>20}. Rules."')
    assert system_slots(src) == [("today", locate(src, "{today!r:>20}", part="today"))]


def test_fstring_slot_in_a_multiline_string() -> None:
    body = '''
        prompt = f"""Rules.
        More rules.
        Hello {v.name} and {w}."""
    '''
    src = chat(body)
    assert system_slots(src) == [
        ("v.name", locate(src, "{v.name}", part="v.name")),
        ("w", locate(src, "{w}", part="w")),
    ]


def test_format_placeholder_points_inside_the_literal() -> None:
    src = chat('prompt = "Hello {name}, welcome.".format(name=v)')
    assert system_slots(src) == [("name", locate(src, "{name}"))]


def test_format_placeholder_on_a_later_line_of_a_literal() -> None:
    body = '''
        prompt = """Intro.
          Name: {name} end""".format(name=v)
    '''
    src = chat(body)
    assert system_slots(src) == [("name", locate(src, "{name}"))]


def test_format_placeholder_in_the_second_part_of_a_concatenation() -> None:
    body = """
        prompt = ("Intro. "
                  "And {name}.").format(name=v)
    """
    src = chat(body)
    assert system_slots(src) == [("name", locate(src, "{name}"))]


def test_percent_placeholder_points_inside_the_literal() -> None:
    src = chat('prompt = "Hello %(name)s." % {"name": v}')
    assert system_slots(src) == [("name", locate(src, "%(name)s"))]


def test_named_template_placeholder_points_at_the_template_literal() -> None:
    src = 'USER_TEMPLATE = "Question: {q}"\n' + chat("prompt = USER_TEMPLATE.format(q=v)")
    assert system_slots(src) == [("q", locate(src, "{q}"))]
    assert system_slots(src)[0][1].line == 1


def test_volatile_slot_through_a_variable_points_at_the_use() -> None:
    body = """
        now = datetime.now()
        prompt = f"Now: {now}."
    """
    src = "from datetime import datetime\n" + chat(body)
    assert system_slots(src) == [("now", locate(src, "{now}", part="now"))]


def test_call_site_span_is_the_whole_call() -> None:
    src = chat('prompt = "Rules."')
    site = only_site(src)
    assert site.span == call_span(src)
    assert (site.span.line, site.span.column) == (
        line_of(src, "client.chat"),
        locate(src, "client.chat").column,
    )
    assert site.span.end_line == line_of(src, "    )") and site.span.end_column == 6


def test_awaited_call_site_starts_at_the_call_not_the_await() -> None:
    src = """
        from openai import AsyncOpenAI
        client = AsyncOpenAI()
        async def ask(q):
            reply = await client.chat.completions.create(
                model="o3", messages=[{"role": "user", "content": q}]
            )
            return reply
    """
    site = only_site(src)
    assert site.span == call_span(src)
    assert site.span.column == locate(src, "client.chat").column


def test_message_spans_are_the_message_dicts() -> None:
    src = chat('prompt = "Rules."')
    site = only_site(src)
    assert [m.span for m in site.messages] == [
        locate(src, '{"role": "system", "content": prompt}'),
        locate(src, '{"role": "user", "content": q}'),
    ]


def test_cache_control_span_is_its_dict() -> None:
    src = """
        import anthropic
        client = anthropic.Anthropic()
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=10,
            system=[{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": "Hi"}],
        )
    """
    site = only_site(src)
    assert site.system[0].cache_control == CacheControl(None, locate(src, '{"type": "ephemeral"}'))


def test_spans_in_a_crlf_source() -> None:
    src = chat('prompt = f"Today is {today}. Rules."').replace("\n", "\r\n")
    model = extract(src)
    (site,) = model.call_sites
    lf = chat('prompt = f"Today is {today}. Rules."')
    assert site.span == call_span(lf)
    assert site.messages[0].blocks[0].content.slots[0].span == locate(lf, "{today}", part="today")


def test_spans_in_a_tab_indented_source() -> None:
    src = chat('prompt = f"Today is {today}. Rules."').replace("    ", "\t")
    site = only_site(src)
    assert site.span == call_span(src)
    assert system_slots(src) == [("today", locate(src, "{today}", part="today"))]
    assert site.span.column == 9  # "\treturn " is eight characters, a tab counting as one


def test_spans_with_unicode_text_and_identifiers() -> None:
    src = chat('prompt = f"こんにちは 😀 {名前} — ok"', params="q, 名前")
    assert system_slots(src) == [("名前", locate(src, "{名前}", part="名前"))]
    assert system_slots(src)[0][1] == Span(4, 25, 4, 27)


# -- known extractor defects -----------------------------------------------------------------------


def test_format_placeholder_after_escaped_braces() -> None:
    src = chat('prompt = "Use {{name}} or {name}.".format(name=v)')
    assert system_slots(src) == [("name", locate(src, "{name}", 2))]


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ('"A {x} B {x}.".format(x=v)', "{x}"),
        ('"A {} B {}.".format(v, w)', "{}"),
        ('"A %s B %s." % (v, w)', "%s"),
    ],
)
def test_repeated_placeholders_have_their_own_spans(expression: str, needle: str) -> None:
    src = chat(f"prompt = {expression}")
    spans = [span for _, span in system_slots(src)]
    assert spans == [locate(src, needle, 1), locate(src, needle, 2)]


@pytest.mark.parametrize("header", ["for item in w:", "if w:"])
def test_dynamic_tail_of_an_augmented_string_points_at_the_augmented_assignment(
    header: str,
) -> None:
    body = f"""
        prompt = "Start."
        {header}
            prompt += v
    """
    src = chat(body)
    ((name, span),) = system_slots(src)
    assert name == "prompt"
    assert span.line == line_of(src, "prompt += v")


def test_placeholder_after_an_inlined_one_points_at_its_own_occurrence() -> None:
    """`"{} {}".format("static", v)`: the slot is the second `{}`, not the first."""
    source = textwrap.dedent(
        '''\
        SYSTEM_PROMPT = "A {} B {}.".format("static", v)
        '''
    )
    (named,) = extract(source).templates
    (slot,) = named.template.slots
    assert (slot.span.line, slot.span.column) == (1, 25)


def test_repeated_placeholder_across_concatenated_literals() -> None:
    source = textwrap.dedent(
        '''\
        SYSTEM_PROMPT = ("A {x} " "B {x}.").format(x=v)
        '''
    )
    (named,) = extract(source).templates
    assert [(s.span.line, s.span.column) for s in named.template.slots] == [(1, 21), (1, 30)]
