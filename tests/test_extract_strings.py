"""Extraction of prompt strings: how a prompt's text is built (DESIGN §3).

Each prompt here reaches the model as the system message of an OpenAI chat call; the tests compare
the whole rendered template (see `conftest.render`: `{name}` is a slot, `!v` volatile, `!u`
unordered) or its exact segments.
"""

from __future__ import annotations

import textwrap

import pytest
from conftest import extract, locate, only_site, render, render_blocks

from promptlint.config import Settings
from promptlint.extract import extract_file
from promptlint.model import FileModel, NamedTemplate, Slot, Template, Text

HEADER = """\
from openai import OpenAI

client = OpenAI()
"""

CALL = """\
    return client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": prompt}, {"role": "user", "content": q}],
    )
"""


def chat(body: str, prelude: str = "", params: str = "q, v, w") -> str:
    """A module whose `handle` builds `prompt` with `body` and sends it as the system message."""
    return (
        HEADER
        + textwrap.dedent(prelude)
        + f"\n\ndef handle({params}):\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")
        + CALL
    )


def system_of(source: str) -> Template:
    site = only_site(source)
    assert [m.role for m in site.messages] == ["system", "user"]
    assert render_blocks(site.messages[1].blocks) == ["{q}"]
    (block,) = site.messages[0].blocks
    return block.content


def prompt(body: str, prelude: str = "", params: str = "q, v, w") -> str:
    return render(system_of(chat(body, prelude, params)))


# -- literals and f-strings ---------------------------------------------------------------------


def test_plain_literal_inline_in_the_call() -> None:
    src = """
        from openai import OpenAI
        client = OpenAI()
        client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "You are a support agent."},
                {"role": "user", "content": "Hi"},
            ],
        )
    """
    site = only_site(src)
    assert [(m.role, render_blocks(m.blocks)) for m in site.messages] == [
        ("system", ["You are a support agent."]),
        ("user", ["Hi"]),
    ]
    assert site.messages[0].blocks[0].content.segments == (Text("You are a support agent."),)


def test_plain_literal_through_a_local_variable() -> None:
    assert prompt('prompt = "You are a support agent."') == "You are a support agent."


def test_implicit_concatenation() -> None:
    assert prompt("prompt = ('You are ' \"a bot. \" 'Be brief.')") == "You are a bot. Be brief."


def test_implicit_concatenation_with_an_fstring_part() -> None:
    assert prompt('prompt = "Static start. " f"User: {v}."') == "Static start. User: {v}."


def test_fstring_format_spec_and_conversion_are_slots() -> None:
    src = chat('prompt = f"A {v:>10} B {w!r} C"')
    template = system_of(src)
    assert template.segments == (
        Text("A "),
        Slot("v", locate(src, "{v:>10}", part="v"), passed_in=True),
        Text(" B "),
        Slot("w", locate(src, "{w!r}", part="w"), passed_in=True),
        Text(" C"),
    )


def test_fstring_with_nested_quotes() -> None:
    assert prompt("""prompt = f"Key: {d['k']}." """, params="q, d") == "Key: {d['k']}."


def test_fstring_brace_escapes_are_static_text() -> None:
    src = chat('prompt = f"Use {{braces}} for {v}."')
    assert system_of(src).segments == (
        Text("Use {braces} for "),
        Slot("v", locate(src, "{v}", part="v"), passed_in=True),
        Text("."),
    )


def test_fstring_without_slots_is_static() -> None:
    template = system_of(chat('prompt = f"Only {{static}} text"'))
    assert template.segments == (Text("Only {static} text"),)


def test_fstring_escape_sequences_are_decoded() -> None:
    assert prompt(r'prompt = f"Line one\nLine two {v}\tend"') == "Line one\nLine two {v}\tend"


def test_raw_fstring_keeps_backslashes() -> None:
    assert prompt(r'prompt = rf"Match \d+ in {v}\n"') == "Match \\d+ in {v}\\n"


def test_fstring_inlines_a_module_constant() -> None:
    body = 'prompt = f"You work for {COMPANY}. Be kind to {v}."'
    assert prompt(body, 'COMPANY = "Acme"') == "You work for Acme. Be kind to {v}."


def test_fstring_keeps_a_conditionally_bound_module_name_dynamic() -> None:
    prelude = """
        import os
        if os.environ.get("X"):
            COMPANY = "Acme"
        else:
            COMPANY = "Globex"
    """
    assert prompt('prompt = f"You work for {COMPANY}."', prelude) == "You work for {COMPANY}."


# -- str.format and % ---------------------------------------------------------------------------


def test_format_keyword_slot_and_static_keyword_inlined() -> None:
    src = chat('prompt = "Hello {name}, I am {bot}.".format(name=v, bot="Bob")')
    template = system_of(src)
    assert template.segments == (
        Text("Hello "),
        Slot("name", locate(src, "{name}"), passed_in=True),
        Text(", I am Bob."),
    )


def test_format_positional_fields() -> None:
    assert prompt('prompt = "A {} B {0} C".format(v)') == "A {0} B {0} C"
    assert prompt('prompt = "A {0} B {1} C".format(v, w)') == "A {0} B {1} C"


def test_format_positional_static_arguments_inlined() -> None:
    assert prompt('prompt = "A {} B {1} C".format("x", "y")') == "A x B y C"


def test_named_template_format() -> None:
    prelude = 'TEMPLATE = "You help {user} with {topic}."'
    src = chat('prompt = TEMPLATE.format(user=v, topic="billing")', prelude)
    template = system_of(src)
    assert render(template) == "You help {user} with billing."
    assert template.slots == (Slot("user", locate(src, "{user}"), passed_in=True),)
    # Consumed by the call site: not linted on its own.
    assert extract(src).templates == ()


def test_percent_with_a_tuple() -> None:
    assert prompt('prompt = "User %s asked %d times." % (v, w)') == "User {%s} asked {%d} times."


def test_percent_with_static_values_and_a_literal_percent() -> None:
    assert prompt('prompt = "A %s B %s: 100%%" % ("x", v)') == "A x B {%s}: 100%"


def test_percent_with_a_dict() -> None:
    body = 'prompt = "Hello %(name)s, from %(team)s." % {"name": v, "team": "Support"}'
    src = chat(body)
    template = system_of(src)
    assert template.segments == (
        Text("Hello "),
        Slot("name", locate(src, "%(name)s"), passed_in=True),
        Text(", from Support."),
    )


# -- concatenation and text functions -----------------------------------------------------------


def test_plus_with_constants_and_variables() -> None:
    body = 'prompt = "Rules: " + RULES + " User: " + v'
    assert prompt(body, 'RULES = "be nice."') == "Rules: be nice. User: {v}"


def test_plus_with_a_leading_variable() -> None:
    assert prompt('prompt = v + " is asking. " + "Answer."') == "{v} is asking. Answer."


def test_textwrap_dedent_static() -> None:
    body = '''
        prompt = textwrap.dedent("""
            Line one.
              Indented.
            Line three.
        """)
    '''
    assert prompt(body, "import textwrap") == "\nLine one.\n  Indented.\nLine three.\n"


def test_textwrap_dedent_keeps_slots_in_place() -> None:
    body = '''
        prompt = textwrap.dedent(f"""
            Hello {v}.
            Line two.
        """)
    '''
    assert prompt(body, "import textwrap") == "\nHello {v}.\nLine two.\n"


def test_dedent_imported_by_name() -> None:
    body = '''
        prompt = dedent("""
            A
            B
        """)
    '''
    assert prompt(body, "from textwrap import dedent") == "\nA\nB\n"


def test_inspect_cleandoc_static() -> None:
    body = '''
        prompt = inspect.cleandoc("""
            Line one.
              Indented.
        """)
    '''
    assert prompt(body, "import inspect") == "Line one.\n  Indented."


def test_inspect_cleandoc_with_a_slot() -> None:
    body = '''
        prompt = inspect.cleandoc(f"""
            Hi {v}.
            Bye.
        """)
    '''
    assert prompt(body, "import inspect") == "Hi {v}.\nBye."


def test_join_of_a_list_of_literals_and_variables() -> None:
    body = 'prompt = "\\n".join(["Rule one.", "Rule two.", v])'
    assert prompt(body) == "Rule one.\nRule two.\n{v}"


def test_join_of_a_module_constant_list() -> None:
    assert prompt('prompt = ", ".join(TAGS)', 'TAGS = ["a", "b"]') == "a, b"


def test_join_of_a_set_is_unordered() -> None:
    body = """
        some_set = {"alpha", "beta"}
        prompt = "Tags: " + "".join(some_set)
    """
    src = chat(body)
    template = system_of(src)
    assert render(template) == "Tags: {some_set!u}"
    assert template.slots == (
        Slot("some_set", locate(src, "join(some_set)", part="some_set"), unordered=True),
    )


def test_join_of_a_set_call_is_unordered() -> None:
    assert prompt('prompt = ", ".join(set(v))') == "{set(v)!u}"


def test_join_of_a_set_literal_is_unordered() -> None:
    assert prompt('prompt = ", ".join({"a", "b"})') == '{{"a", "b"}!u}'


def test_join_of_a_sorted_set_is_ordered() -> None:
    body = """
        some_set = {"alpha", "beta"}
        prompt = ", ".join(sorted(some_set))
    """
    assert prompt(body) == "{sorted(some_set)}"


def test_join_of_a_parameter_is_not_unordered() -> None:
    assert prompt('prompt = ", ".join(v)') == "{v}"


def test_str_of_a_variable_and_of_a_literal() -> None:
    assert prompt('prompt = "N: " + str(v)') == "N: {v}"
    assert prompt('prompt = "N: " + str("lit")') == "N: lit"


# -- names -----------------------------------------------------------------------------------------


def test_local_assignment_resolved() -> None:
    body = """
        local = "Local value."
        prompt = local + " More."
    """
    assert prompt(body) == "Local value. More."


def test_module_assignment_resolved() -> None:
    assert prompt("prompt = LOCAL", 'LOCAL = "Module level."') == "Module level."


def test_name_assigned_in_both_branches_is_a_slot_named_after_it() -> None:
    body = """
        if w:
            intro = "Formal."
        else:
            intro = "Casual."
        prompt = intro + " Rules."
    """
    src = chat(body)
    template = system_of(src)
    assert render(template) == "{intro} Rules."
    assert template.slots == (Slot("intro", locate(src, "intro + ", part="intro")),)


def test_name_assigned_twice_straight_line_takes_the_last_value() -> None:
    body = """
        prompt = "first"
        prompt = "second"
    """
    assert prompt(body) == "second"


def test_augmented_assignment_straight_line_extends() -> None:
    body = """
        prompt = "Start."
        prompt += " More."
        prompt += v
    """
    assert prompt(body) == "Start. More.{v}"


def test_augmented_assignment_in_a_loop_is_dynamic() -> None:
    body = """
        prompt = "Start."
        for item in w:
            prompt += item
    """
    assert prompt(body) == "Start.{prompt}"


def test_augmented_assignment_in_a_branch_is_dynamic() -> None:
    body = """
        prompt = "Start."
        if w:
            prompt += " Extra."
    """
    assert prompt(body) == "Start.{prompt}"


def test_parameters_are_dynamic_non_volatile_slots() -> None:
    src = chat('prompt = f"Hi {v}."')
    template = system_of(src)
    assert template.segments == (
        Text("Hi "),
        Slot(
            "v",
            locate(src, "{v}", part="v"),
            volatile=False,
            unordered=False,
            history=False,
            passed_in=True,  # a parameter: the caller makes it
        ),
        Text("."),
    )


# -- volatile values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prelude", "expression", "rendered"),
    [
        ("from datetime import datetime", "datetime.now()", "{datetime.now()!v}"),
        ("import datetime", "datetime.datetime.now()", "{datetime.datetime.now()!v}"),
        ("import datetime", "datetime.date.today()", "{datetime.date.today()!v}"),
        ("from datetime import date", "date.today()", "{date.today()!v}"),
        ("import time", "time.time()", "{time.time()!v}"),
        ("import uuid", "uuid.uuid4()", "{uuid.uuid4()!v}"),
        ("from uuid import uuid4", "uuid4()", "{uuid4()!v}"),
        ("import random", "random.choice(w)", "{random.choice(w)!v}"),
    ],
)
def test_volatile_calls(prelude: str, expression: str, rendered: str) -> None:
    src = chat(f'prompt = f"Now: {{{expression}}}. Rules."', prelude)
    template = system_of(src)
    assert render(template) == f"Now: {rendered}. Rules."
    assert template.slots[0].span == locate(src, expression)


def test_volatile_through_a_variable() -> None:
    body = """
        today = datetime.now().strftime("%Y-%m-%d")
        prompt = f"Today is {today}. Rules."
    """
    src = chat(body, "from datetime import datetime")
    template = system_of(src)
    assert render(template) == "Today is {today!v}. Rules."
    assert template.slots[0].span == locate(src, "{today}", part="today")


def test_volatile_returned_by_a_same_module_helper() -> None:
    prelude = """
        from datetime import datetime


        def _now():
            return datetime.now().isoformat()
    """
    assert prompt('prompt = f"Time: {_now()}. Rules."', prelude) == "Time: {_now()!v}. Rules."


@pytest.mark.parametrize(
    ("body", "rendered"),
    [
        ('prompt = "T: " + str(datetime.now())', "T: {datetime.now()!v}"),
        ('prompt = "T: {}".format(datetime.now())', "T: {0!v}"),
        ('prompt = "T: {t}".format(t=datetime.now())', "T: {t!v}"),
        ('prompt = "T: %s" % datetime.now()', "T: {%s!v}"),
    ],
)
def test_volatile_through_format_percent_and_str(body: str, rendered: str) -> None:
    assert prompt(body, "from datetime import datetime") == rendered


def test_non_volatile_call_is_a_plain_slot() -> None:
    assert prompt('prompt = f"Dir: {os.getcwd()}."', "import os") == "Dir: {os.getcwd()}."


def test_method_named_now_on_an_unknown_object_is_not_volatile() -> None:
    assert prompt('prompt = f"T: {w.now()}."') == "T: {w.now()}."


def test_local_function_named_now_is_not_datetimes() -> None:
    prelude = """
        from datetime import datetime


        def now():
            return load_setting()
    """
    assert prompt('prompt = f"T: {now()}."', prelude) == "T: {now()}."


def test_local_function_named_now_returning_a_constant_is_inlined() -> None:
    prelude = """
        def now():
            return "fixed"
    """
    assert prompt('prompt = f"T: {now()}."', prelude) == "T: fixed."


# -- prompt-named templates ------------------------------------------------------------------------


def templates(source: str, settings: Settings | None = None) -> list[tuple[str, str]]:
    return [(t.name, render(t.template)) for t in extract(source, settings).templates]


def test_module_level_prompt_template_without_a_call_site() -> None:
    src = """
        from datetime import datetime
        SYSTEM_PROMPT = f"Today is {datetime.now()}. Rules follow."
    """
    model = extract(src)
    assert model.call_sites == ()
    assert model.templates == (
        NamedTemplate(
            "SYSTEM_PROMPT",
            Template(
                (
                    Text("Today is "),
                    # Computed once, when the module is imported: the same on every request.
                    Slot("datetime.now()", locate(src, "datetime.now()"), per_process=True),
                    Text(". Rules follow."),
                ),
                locate(src, 'SYSTEM_PROMPT = f"Today is {datetime.now()}. Rules follow."'),
            ),
        ),
    )


def test_prompt_template_in_a_function() -> None:
    src = """
        def build(user):
            system_prompt = f"Hello {user}. Rules."
            return system_prompt
    """
    assert templates(src) == [("system_prompt", "Hello {user}. Rules.")]


def test_prompt_template_as_a_class_attribute() -> None:
    src = """
        class Agent:
            INSTRUCTIONS = "Be brief."
            user_template = "Q: {q}"
            greeting = "Hello"
    """
    assert templates(src) == [("INSTRUCTIONS", "Be brief."), ("user_template", "Q: {q}")]


def test_annotated_prompt_template() -> None:
    assert templates('SYSTEM_PROMPT: str = "Annotated."') == [("SYSTEM_PROMPT", "Annotated.")]


@pytest.mark.parametrize(
    "name", ["SYSTEM_PROMPT", "prompt", "my_system", "Instructions", "ANSWER_TEMPLATE"]
)
def test_prompt_name_patterns_are_case_insensitive(name: str) -> None:
    assert templates(f'{name} = "Text."') == [(name, "Text.")]


@pytest.mark.parametrize("name", ["greeting", "MESSAGE", "intro_text", "PROMT"])
def test_other_names_are_not_templates(name: str) -> None:
    assert extract(f'{name} = "Text."') == FileModel("mod.py")


def test_template_consumed_by_a_call_site_is_not_listed() -> None:
    prelude = """
        SYSTEM_PROMPT = "You are helpful."
        OTHER_PROMPT = "Unused."
    """
    src = chat("prompt = SYSTEM_PROMPT", prelude)
    assert render(system_of(src)) == "You are helpful."
    assert templates(src) == [("OTHER_PROMPT", "Unused.")]


def test_template_consumed_in_a_function_is_not_listed() -> None:
    body = """
        system_prompt = f"Hi {v}."
        prompt = system_prompt
    """
    src = chat(body)
    assert render(system_of(src)) == "Hi {v}."
    assert templates(src) == []


def test_template_consumed_only_by_another_template() -> None:
    src = """
        BASE_PROMPT = "Base."
        SYSTEM_PROMPT = BASE_PROMPT + " More."
    """
    assert templates(src) == [("SYSTEM_PROMPT", "Base. More.")]


def test_prompt_names_setting() -> None:
    src = """
        MY_MSG = "Hi {x}"
        SYSTEM_PROMPT = "Default pattern."
    """
    assert templates(src, Settings(prompt_names=("*MSG*",))) == [("MY_MSG", "Hi {x}")]
    assert templates(src) == [("SYSTEM_PROMPT", "Default pattern.")]
    assert extract(src, Settings(prompt_names=())) == FileModel("mod.py")


# -- from bytes ---------------------------------------------------------------------------------


def test_extract_file_decodes_utf8_with_bom_and_crlf() -> None:
    data = "\ufeffSYSTEM_PROMPT = 'Caf\u00e9 rules.'\r\n".encode()
    model = extract_file("mod.py", data, Settings())
    assert model.parse_error is None
    assert [(t.name, render(t.template)) for t in model.templates] == [
        ("SYSTEM_PROMPT", "Caf\u00e9 rules.")
    ]


def test_extract_file_honours_a_coding_cookie() -> None:
    data = "# -*- coding: latin-1 -*-\nSYSTEM_PROMPT = 'caf\u00e9'\n".encode("latin-1")
    model = extract_file("mod.py", data, Settings())
    assert [(t.name, render(t.template)) for t in model.templates] == [
        ("SYSTEM_PROMPT", "caf\u00e9")
    ]


def test_extract_file_of_invalid_syntax_is_a_parse_error_only() -> None:
    model = extract_file("mod.py", b"SYSTEM_PROMPT = 'x'\ndef f(:\n    pass\n", Settings())
    assert model.parse_error is not None
    assert model.parse_error.line == 2
    assert (model.call_sites, model.templates) == ((), ())


def test_branch_extension_does_not_repeat_the_kept_starts_facts() -> None:
    """A volatile value before an `if` that appends static text is reported once, at itself."""
    body = """
        prompt = f"Date: {datetime.now()}. "
        if w:
            prompt += "Extra rules."
    """
    assert prompt(body, "from datetime import datetime") == "Date: {datetime.now()!v}. {prompt}"


def test_parenthesised_sum_of_many_terms() -> None:
    """The usual formatting of a long concatenation: one parenthesised sum."""
    body = """
        prompt = (
            "Rules. "
            + "More rules. "
            + v
        )
    """
    assert prompt(body) == "Rules. More rules. {v}"
