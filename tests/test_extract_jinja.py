"""Jinja2 template source -> static text and slots (`promptlint.extract.jinja`), never rendered."""

from __future__ import annotations

import textwrap

import jinja2
import pytest

from promptlint.extract.jinja import JinjaError, JinjaPart, JinjaSlot, jinja_parts


def parts(source: str, **files: str) -> list[JinjaPart] | JinjaError:
    return jinja_parts(source, load=files.get)


def test_static_only() -> None:
    assert parts("You are a helpful assistant.\nBe brief.") == [
        "You are a helpful assistant.\nBe brief."
    ]
    assert parts("") == []


def test_jinja_drops_one_final_newline_as_rendering_does() -> None:
    assert parts("Be brief.\n") == ["Be brief."]
    assert parts("a\r\nb") == ["a\nb"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ x }} rest", [JinjaSlot("x", 1, 1), " rest"]),
        ("Hello {{ x }} and", ["Hello ", JinjaSlot("x", 1, 7), " and"]),
        ("Hello {{ x }}", ["Hello ", JinjaSlot("x", 1, 7)]),
        ("{{ x }}{{ y }}", [JinjaSlot("x", 1, 1), JinjaSlot("y", 1, 8)]),
    ],
)
def test_variable_at_start_middle_end(source: str, expected: list[JinjaPart]) -> None:
    assert parts(source) == expected


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("user.name", "user.name"),
        ("items|join(', ')", "items|join(', ')"),
        ("x | default('n/a') | upper", "x|default('n/a')|upper"),
        ("a.b['k'][0].c()", "a.b['k'][0].c()"),
        ("f(1, k=2, *rest, **kw)", "f(1, k=2, *rest, **kw)"),
        ("(a + b) * c", "(a + b) * c"),
        ("a + b * c", "a + b * c"),
        ("-x|abs", "-x|abs"),
        ("-(x|abs)", "-(x|abs)"),
        ("a if b else c", "a if b else c"),
        ("x is not defined", "x is not defined"),
        ("not (a and b)", "not (a and b)"),
        ("a < b <= c", "a < b <= c"),
        ("x not in y", "x not in y"),
        ("a ~ b", "a ~ b"),
        ("items[1:2]", "items[1:2]"),
        ("{'a': [1, (2,)]}", "{'a': [1, (2,)]}"),
        ("none", "none"),
    ],
)
def test_slot_names_are_source_like(expression: str, name: str) -> None:
    assert parts("{{ " + expression + " }}") == [JinjaSlot(name, 1, 1)]


def test_literal_output_is_static() -> None:
    assert parts("{{ '{{' }}x{{ 3 }}") == ["{{x3"]


def test_if_with_dynamic_branches_is_one_slot() -> None:
    source = "A {% if is_vip %}VIP {{ name }}{% elif x %}X{% else %}guest{% endif %} B"
    assert parts(source) == ["A ", JinjaSlot("if is_vip", 1, 3), " B"]


def test_if_with_different_static_branches_is_one_slot() -> None:
    assert parts("{% if a %}X{% endif %}.") == [JinjaSlot("if a", 1, 1), "."]
    assert parts("{% if a %}X{% else %}Y{% endif %}.") == [JinjaSlot("if a", 1, 1), "."]


def test_if_with_identical_static_branches_is_static() -> None:
    source = "A{% if a %}X{% elif b %}{% if c %}X{% else %}X{% endif %}{% else %}X{% endif %}B"
    assert parts(source) == ["AXB"]
    assert parts("A{% if a %}{% else %}{% endif %}B") == ["AB"]


def test_if_test_name() -> None:
    assert parts("{% if not user.is_vip and n > 2 %}x{% endif %}") == [
        JinjaSlot("if not user.is_vip and n > 2", 1, 1)
    ]


def test_tags_after_a_skipped_block_on_the_same_line_get_their_own_column() -> None:
    source = "{% if a %}{{ x }}{% else %}y{% endif %}{{ z }}"
    assert parts(source) == [JinjaSlot("if a", 1, 1), JinjaSlot("z", 1, 40)]


def test_for_loop_is_one_slot() -> None:
    source = "Docs:\n{% for doc in docs %}- {{ doc.title }}\n{% else %}none{% endfor %}\nEnd"
    assert parts(source) == ["Docs:\n", JinjaSlot("for doc in docs", 2, 1), "\nEnd"]
    assert parts("{% for k, v in d.items() if v %}{{ k }}{% endfor %}{{ q }}") == [
        JinjaSlot("for k, v in d.items() if v", 1, 1),
        JinjaSlot("q", 1, 52),
    ]


def test_loop_controls_and_do_parse() -> None:
    source = "{% for x in y %}{% break %}{% endfor %}{% do a.append(1) %}."
    assert parts(source) == [JinjaSlot("for x in y", 1, 1), "."]


def test_include_is_followed() -> None:
    source = "Intro\n{% include 'rules.txt' %}\nOutro"
    assert parts(source, **{"rules.txt": "Rule 1.\nRule 2.\n"}) == [
        "Intro\nRule 1.\nRule 2.\nOutro"
    ]


def test_nested_include_slots_carry_the_top_level_include_position() -> None:
    files = {"a": "A[{{ inner }}]{% include 'b' %}", "b": "B{{ deep }}"}
    source = "x\n  {% include 'a' %}!"
    assert parts(source, **files) == [
        "x\n  A[",
        JinjaSlot("inner", 2, 3),
        "]B",
        JinjaSlot("deep", 2, 3),
        "!",
    ]


def test_include_missing_is_a_slot() -> None:
    assert parts("a {% include 'missing.txt' %} b") == [
        "a ",
        JinjaSlot("include 'missing.txt'", 1, 3),
        " b",
    ]
    assert jinja_parts("{% include 'x' %}") == [JinjaSlot("include 'x'", 1, 1)]  # no loader


def test_include_of_a_variable_is_a_slot() -> None:
    assert parts("{% include tpl %}", tpl="never read") == [JinjaSlot("include tpl", 1, 1)]


def test_include_that_does_not_parse_is_a_slot() -> None:
    assert parts("{% include 'bad' %}", bad="{% if %}") == [JinjaSlot("include 'bad'", 1, 1)]


def test_include_cycle_is_a_slot() -> None:
    files = {"a": "A{% include 'b' %}", "b": "B{% include 'a' %}"}
    assert parts("{% include 'a' %}.", **files) == ["AB", JinjaSlot("include 'a'", 1, 1), "."]
    assert parts("{% include 's' %}", s="S{% include 's' %}") == [
        "S",
        JinjaSlot("include 's'", 1, 1),
    ]


def test_include_depth_limit() -> None:
    files = {f"t{i}": f"{i}{{% include 't{i + 1}' %}}" for i in range(20)}
    assert jinja_parts("{% include 't0' %}", load=files.get, max_depth=3) == [
        "012",
        JinjaSlot("include 't3'", 1, 1),
    ]
    assert jinja_parts("{% include 't0' %}", load=files.get, max_depth=0) == [
        JinjaSlot("include 't0'", 1, 1)
    ]


def test_set_comments_macros_and_imports_produce_nothing() -> None:
    source = (
        "a{# a comment {{ hidden }} #}{% set x = 1 %}{% set block %}{{ y }}{% endset %}"
        "{% macro m() %}{{ mm }}{% endmacro %}{% import 'lib' as lib %}b{{ z }}"
    )
    assert parts(source) == ["ab", JinjaSlot("z", 1, 142)]


def test_call_and_filter_blocks_are_slots() -> None:
    source = "{% call m() %}c{% endcall %}{% filter upper %}f{% endfilter %}"
    assert parts(source) == [JinjaSlot("call m()", 1, 1), JinjaSlot("filter upper", 1, 29)]


def test_raw_block_is_static() -> None:
    assert parts("{% raw %}{{ r }}{% endraw %}{{ z }}") == ["{{ r }}", JinjaSlot("z", 1, 29)]


def test_extends_is_a_slot_and_blocks_are_inline() -> None:
    source = "{% extends 'base.txt' %}\n{% block body %}Body {{ b }}{% endblock %}"
    assert parts(source) == [
        JinjaSlot("extends 'base.txt'", 1, 1),
        "\nBody ",
        JinjaSlot("b", 2, 22),
    ]


def test_with_and_autoescape_content_is_inline() -> None:
    source = "{% with q = 1 %}W{{ q }}{% endwith %}{% autoescape true %}A{% endautoescape %}"
    assert parts(source) == ["W", JinjaSlot("q", 1, 18), "A"]


def test_whitespace_control_is_applied() -> None:
    source = "A  \n  {%- if v -%}\n x \n{%- endif %}  \n{{- name -}}  \nB"
    assert parts(source) == ["A", JinjaSlot("if v", 2, 3), JinjaSlot("name", 5, 1), "B"]
    assert parts("A\n{%- set x = 1 %}\nB {#- c -#} C") == ["A\nBC"]


def test_environment_options_are_used() -> None:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    source = "A\n    {% if v %}\nx\n    {% endif %}\nB"
    assert jinja_parts(source, environment=env) == ["A\n", JinjaSlot("if v", 2, 5), "B"]
    assert jinja_parts(source) == ["A\n    ", JinjaSlot("if v", 2, 5), "\nB"]


def test_syntax_error_is_returned_with_its_line() -> None:
    assert parts("a\n\n{{ x | }}\n") == JinjaError(
        "expected token 'name', got 'end of print statement'", 3
    )
    assert parts("a\n{% endif %}") == JinjaError("Encountered unknown tag 'endif'.", 2)
    result = parts("line\n{{ x")
    assert isinstance(result, JinjaError)
    assert result.line == 2


def test_positions_on_a_multiline_template() -> None:
    source = textwrap.dedent(
        """\
        System: {{ system }}
        {# {{ not_a_slot }} #}   {{ "}}" ~ a }} {{ b }}
          {{
            multi.line
          }}
        {% for x in xs %}{{ x }}{% endfor %} {{ after }}
        {%
          if flag
        %}{{ y }}{% endif %}{{ last }}"""
    )
    assert parts(source) == [
        "System: ",
        JinjaSlot("system", 1, 9),
        "\n   ",
        JinjaSlot("'}}' ~ a", 2, 26),
        " ",
        JinjaSlot("b", 2, 41),
        "\n  ",
        JinjaSlot("multi.line", 3, 3),
        "\n",
        JinjaSlot("for x in xs", 6, 1),
        " ",
        JinjaSlot("after", 6, 38),
        "\n",
        JinjaSlot("if flag", 7, 1),
        JinjaSlot("last", 9, 21),
    ]


def test_unordered_is_never_set() -> None:
    result = parts("{% for x in s|list %}{{ x }}{% endfor %}{{ y.items() }}")
    assert isinstance(result, list)
    assert not any(isinstance(p, JinjaSlot) and p.unordered for p in result)


def test_large_template() -> None:
    lines = []
    for i in range(10_000):
        lines.append(
            [
                f"Line {i} is static text.",
                f"Value {{{{ v{i}.name|upper }}}} and {{{{ w }}}}.",
                f"{{% if c{i} %}}A{{% else %}}A{{% endif %}}",
                f"{{% for x in xs{i} %}}{{{{ x }}}}{{% endfor %}}",
            ][i % 4]
        )
    result = jinja_parts("\n".join(lines))
    assert isinstance(result, list)
    assert len(result) == 15_000
    assert result[-1] == JinjaSlot("for x in xs9999", 10_000, 1)
    assert result[1] == JinjaSlot("v1.name|upper", 2, 7)
    assert result[3] == JinjaSlot("w", 2, 31)
