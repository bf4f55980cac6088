"""Jupyter notebooks -> one module of their code cells (`promptlint.extract.notebook`)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from promptlint.extract.notebook import (
    MAGIC_COMMENT,
    NotebookError,
    NotebookSource,
    notebook_source,
)

MAGIC = f"pass  {MAGIC_COMMENT}"
PY3 = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.7"},
}


def cell(cell_type: str, source: str | list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {"cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        found |= {"execution_count": None, "outputs": []}
    return found


def code(source: str) -> dict[str, Any]:
    """A code cell the way Jupyter saves it: a list of lines, each but the last ending in \\n."""
    return cell("code", textwrap.dedent(source).splitlines(keepends=True))


def markdown(source: str) -> dict[str, Any]:
    return cell("markdown", source.splitlines(keepends=True))


def notebook(*cells: dict[str, Any], metadata: dict[str, Any] | None = None) -> bytes:
    document = {
        "cells": list(cells),
        "metadata": PY3 if metadata is None else metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1).encode()


def read(data: bytes) -> NotebookSource:
    found = notebook_source(data)
    assert isinstance(found, NotebookSource), found
    return found


def error(data: bytes) -> str:
    found = notebook_source(data)
    assert isinstance(found, NotebookError), found
    return found.message


def module_of(*sources: str) -> str:
    """The module text of a notebook whose code cells are `sources` (dedented)."""
    return read(notebook(*(code(s) for s in sources))).text


# --- joining cells and locating lines -----------------------------------------------------------


def test_two_cells_are_joined_and_located():
    nb = read(notebook(code("import os\nx = 1\n"), code("y = x\nprint(y)")))
    assert nb.text == "import os\nx = 1\ny = x\nprint(y)\n"
    assert nb.cells == ((1, 1), (1, 2), (2, 1), (2, 2))
    assert [nb.locate(line) for line in (1, 2, 3, 4)] == [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_markdown_and_raw_cells_add_no_text_but_count_in_cell_numbers():
    nb = read(
        notebook(
            markdown("# Title\n\nSome prose."),
            code("a = 1"),
            cell("raw", "raw text"),
            markdown("More."),
            code("b = 2\nc = 3\n"),
        )
    )
    assert nb.text == "a = 1\nb = 2\nc = 3\n"
    assert nb.cells == ((2, 1), (5, 1), (5, 2))
    assert nb.locate(3) == (5, 2)


def test_string_source_and_list_source_read_the_same():
    as_list = read(notebook(cell("code", ["x = 1\n", "y = 2\n", "z = 3"])))
    as_string = read(notebook(cell("code", "x = 1\ny = 2\nz = 3")))
    assert as_list == as_string
    assert as_list.text == "x = 1\ny = 2\nz = 3\n"


def test_list_source_parts_are_joined_with_nothing_as_nbformat_does():
    assert read(notebook(cell("code", ["x = ", "1", "\n", "y = 2"]))).text == "x = 1\ny = 2\n"


def test_every_cell_ends_with_one_line_break_and_keeps_its_blank_lines():
    nb = read(notebook(code("a = 1\n\n\n"), code(""), code("\n"), code("b = 2")))
    assert nb.text == "a = 1\n\n\n\nb = 2\n"
    assert nb.cells == ((1, 1), (1, 2), (1, 3), (3, 1), (4, 1))


def test_crlf_and_cr_line_breaks_become_lf():
    nb = read(notebook(cell("code", "a = 1\r\nb = 2\rc = 3\r\n")))
    assert nb.text == "a = 1\nb = 2\nc = 3\n"
    assert nb.cells == ((1, 1), (1, 2), (1, 3))


def test_form_feed_is_not_a_line_break():
    # Python does not break lines at \x0c (str.splitlines does): module lines must match Python's.
    assert read(notebook(cell("code", "a = 1\x0c\nb = 2"))).cells == ((1, 1), (1, 2))


def test_locate_outside_the_text_continues_from_the_last_code_line():
    nb = read(notebook(code("a = (\n"), markdown("text")))
    assert nb.locate(1) == (1, 1)
    assert nb.locate(2) == (1, 2)  # e.g. "unexpected EOF" one line past the end
    assert nb.locate(4) == (1, 4)
    assert nb.locate(0) == (1, 1)
    assert nb.locate(-3) == (1, 1)


@pytest.mark.parametrize(
    "cells",
    [(), (markdown("# only prose"),), (code(""), markdown("x"), cell("code", []))],
    ids=["no-cells", "only-markdown", "empty-code-cells"],
)
def test_a_notebook_without_code_lines_is_an_empty_module(cells: tuple[dict[str, Any], ...]):
    nb = read(notebook(*cells))
    assert nb.text == ""
    assert nb.cells == ()
    assert nb.locate(1) == (1, 1)
    assert nb.locate(3) == (1, 3)
    assert cst.parse_module(nb.text).code == ""


def test_a_bom_before_the_json_is_accepted():
    assert read(b"\xef\xbb\xbf" + notebook(code("x = 1"))).text == "x = 1\n"


# --- IPython syntax -----------------------------------------------------------------------------


def test_line_magics_and_shell_escapes_become_pass_with_the_same_line_count():
    text = module_of(
        """\
        %matplotlib inline
        !pip install -q anthropic
        !!ls -la
        import anthropic
        %time result = f(1)
        x = 1
        """
    )
    assert text.splitlines() == [MAGIC, MAGIC, MAGIC, "import anthropic", MAGIC, "x = 1"]


def test_magics_inside_a_block_keep_their_indentation_so_the_block_stays_valid():
    text = module_of(
        """\
        for name in files:
            !rm $name
        if debug:
            %debug
        else:
            x = 1
        """
    )
    assert text.splitlines() == [
        "for name in files:",
        f"    {MAGIC}",
        "if debug:",
        f"    {MAGIC}",
        "else:",
        "    x = 1",
    ]
    cst.parse_module(text)


def test_help_lines_become_pass():
    text = module_of(
        """\
        len?
        anthropic.Anthropic??
        ?print
        ??dict.get
        np.*load*?
        obj.method?  # what does it do
        """
    )
    assert text.splitlines() == [MAGIC] * 6


def test_a_question_mark_in_a_string_or_comment_is_not_help():
    source = """\
        x = "what?"
        y = 1  # why?
        z = '''
        who?
        '''
        """
    assert module_of(source) == textwrap.dedent(source)


def test_assignment_from_a_magic_keeps_the_target():
    text = module_of(
        """\
        files = !ls *.txt
        a, b = !echo 1 2
        out=%sx date
        if x:
            self.lines = !cat f
        """
    )
    assert text.splitlines() == [
        f"files = None  {MAGIC_COMMENT}",
        f"a, b = None  {MAGIC_COMMENT}",
        f"out = None  {MAGIC_COMMENT}",
        "if x:",
        f"    self.lines = None  {MAGIC_COMMENT}",
    ]


def test_backslash_continued_magic_lines_are_all_replaced():
    text = module_of(
        """\
        !pip install \\
            anthropic \\
            openai
        x = 1
        """
    )
    assert text.splitlines() == [MAGIC, MAGIC_COMMENT, MAGIC_COMMENT, "x = 1"]


def test_lines_that_do_not_start_a_statement_are_never_treated_as_magics():
    # A prompt's lines may start with `%`, `!` or `?`, and a line may end in `?`: inside a string,
    # brackets or a backslash continuation they are Python, not IPython escapes.
    source = """\
        PROMPT = \"\"\"
        %s is the user's name.
        !important: answer briefly.
        ?help is not a thing here
        Is that clear?
        \"\"\"
        value = (1
        % 2)
        total = 1 \\
        % 3
        text = 'it''s' \\
            "?"
        raw = r'\\'' + "a\\"?"
        s = "a \\
        %s b"
        """
    compile(textwrap.dedent(source), "<cell>", "exec")  # the cell is plain Python
    assert module_of(source) == textwrap.dedent(source)


def test_an_unterminated_string_ending_in_a_question_mark_is_left_for_the_parser():
    assert module_of("x = 'what?\ny = 1") == "x = 'what?\ny = 1\n"


def test_cell_magic_with_a_non_python_body_comments_out_the_whole_cell():
    text = module_of(
        "x = 1",
        """\
        %%bash
        for f in *.txt; do
            echo "$f"
        done
        """,
        """\

        %%writefile helper.py
        def helper():
            return 1
        """,
        "%%html\n<b>hi</b>",
        "y = 2",
    )
    # 4 + 4 (the leading blank line too) + 2 lines of magic cells.
    assert text.splitlines() == ["x = 1", *[MAGIC_COMMENT] * 10, "y = 2"]


def test_cell_magic_with_a_python_body_keeps_the_body():
    text = module_of(
        """\
        %%time
        response = client.messages.create(model=MODEL, messages=messages)
        !echo done
        """,
        """\
        %%capture captured
        x = 1
        """,
    )
    assert text.splitlines() == [
        MAGIC_COMMENT,
        "response = client.messages.create(model=MODEL, messages=messages)",
        MAGIC,
        MAGIC_COMMENT,
        "x = 1",
    ]


def test_a_cell_magic_is_only_recognised_on_the_first_line_of_a_cell():
    # IPython runs a later `%%name` line as the line magic `%name`: it becomes `pass` like one.
    assert module_of("x = 1\n%%bash\ny = 2").splitlines() == ["x = 1", MAGIC, "y = 2"]


def test_a_string_left_open_in_one_cell_does_not_hide_the_next_cells_magics():
    # Magics are found per cell, as IPython does; the module itself is still a syntax error.
    text = module_of('x = """\nopen', "%pip install x")
    assert text.splitlines() == ['x = """', "open", MAGIC]


def test_a_realistic_notebook_parses_with_libcst_and_maps_back_to_cells():
    data = notebook(
        markdown("# Summarise support tickets\n"),
        code(
            """\
            %load_ext autoreload
            %autoreload 2
            !pip install -q anthropic
            import datetime
            import anthropic
            client = anthropic.Anthropic()
            """
        ),
        code(
            """\
            %%bash
            ls data/ | head
            """
        ),
        markdown("## The prompt\n"),
        code(
            '''\
            files = !ls data/*.txt
            SYSTEM = f"""You are a support assistant. Today is {datetime.date.today()}.
            %s-style placeholders stay in the prompt.
            !important: be brief.
            """
            anthropic.Anthropic.messages?
            '''
        ),
        code(
            """\
            %%time
            for name in files:
                !echo $name
                response = client.messages.create(
                    model="claude-sonnet-4-5",
                    max_tokens=512,
                    system=SYSTEM,
                    messages=[{"role": "user", "content": open(name).read()}],
                )
            """
        ),
    )
    nb = read(data)
    assert len(nb.text.splitlines()) == len(nb.cells) == 6 + 2 + 6 + 9
    wrapper = MetadataWrapper(cst.parse_module(nb.text))
    positions = wrapper.resolve(PositionProvider)
    creates = [
        positions[node].start
        for node in positions
        if isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "create"
    ]
    assert len(creates) == 1
    assert nb.locate(creates[0].line) == (6, 4)
    assert creates[0].column == 15  # columns are untouched
    system = [
        positions[node].start
        for node in positions
        if isinstance(node, cst.FormattedString)
        and "support assistant" in cst.Module([]).code_for_node(node)
    ]
    assert [nb.locate(p.line) for p in system] == [(5, 2)]
    compile(nb.text, "<notebook>", "exec")


# --- errors -------------------------------------------------------------------------------------


def test_invalid_json():
    assert error(b'{"cells": [\n  {"cell_type": "code"\n  "source": []}]}') == (
        "not valid JSON: Expecting ',' delimiter (line 3, column 3)"
    )
    assert error(b"") == "not valid JSON: Expecting value (line 1, column 1)"


def test_invalid_utf8():
    assert error(b'{"cells": [],\n "x": "\xff"}') == (
        "not valid UTF-8: byte 0xff at line 2, column 8"
    )


def test_deeply_nested_json_is_an_error_not_a_crash():
    assert error(b"[" * 100_000 + b"]" * 100_000) == "not valid JSON: nested too deeply to read"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"metadata": {}, "nbformat": 4}, "no 'cells' list: not a Jupyter notebook (nbformat 4)"),
        ({"cells": {"0": {}}}, "no 'cells' list: not a Jupyter notebook (nbformat 4)"),
        (
            {"worksheets": [{"cells": []}], "nbformat": 3},
            "an nbformat 3 notebook ('worksheets'): only nbformat 4 is supported; convert it "
            "with `jupyter nbconvert --to notebook --nbformat 4`",
        ),
        ([1, 2], "top level is a JSON array, not an object: not a Jupyter notebook"),
        ("cells", "top level is a JSON string, not an object: not a Jupyter notebook"),
        (None, "top level is a JSON null, not an object: not a Jupyter notebook"),
        ({"cells": [cell("markdown", "x"), 7]}, "cell 2 is a JSON number, not an object"),
        ({"cells": [{"source": "x = 1"}]}, "cell 1 has no 'cell_type' string"),
        (
            {"cells": [cell("markdown", "x"), {"cell_type": "code"}]},
            "cell 2: 'source' is not a string or a list of strings",
        ),
        (
            {"cells": [cell("code", ["x = 1\n", 2])]},
            "cell 1: 'source' is not a string or a list of strings",
        ),
        (
            {"cells": [cell("code", "x = '\x00'")]},
            "cell 1 contains a NUL character; it is not Python source",
        ),
        (
            {"cells": [cell("code", "x = '\ud800'")]},
            "cell 1 contains an unpaired surrogate (\\ud800); it is not Python source",
        ),
    ],
)
def test_wrong_structure(document: object, message: str):
    assert error(json.dumps(document).encode()) == message


def test_markdown_cells_are_not_checked():
    assert read(json.dumps({"cells": [{"cell_type": "markdown", "source": 3}]}).encode()).text == ""


@pytest.mark.parametrize(
    ("metadata", "language"),
    [
        ({"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}, "R"),
        ({"language_info": {"name": "julia", "version": "1.10"}}, "julia"),
        ({"kernelspec": {"language": "python"}, "language_info": {"name": "scala"}}, "scala"),
    ],
)
def test_a_non_python_kernel_is_an_error(metadata: dict[str, Any], language: str):
    assert error(notebook(code("x <- 1"), metadata=metadata)) == (
        f"the notebook's kernel language is {language!r}, not Python"
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        PY3,
        {"kernelspec": {"language": "Python"}},
        {"kernelspec": {"language": "python3"}, "language_info": {"name": "ipython3"}},
        {"kernelspec": "python3", "language_info": {"name": ""}},
        {"kernelspec": {"language": None}},
    ],
)
def test_python_or_unknown_kernels_are_read(metadata: dict[str, Any]):
    assert read(notebook(code("x = 1"), metadata=metadata)).text == "x = 1\n"


def test_metadata_that_is_not_an_object_is_ignored():
    assert read(json.dumps({"cells": [cell("code", "x")], "metadata": []}).encode()).text == "x\n"


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_never_raises_on_any_bytes(data: bytes):
    assert isinstance(notebook_source(data), (NotebookSource, NotebookError))


LINE_PARTS = st.sampled_from(
    ["x = 1", "%time f()", "!ls", "obj?", "'''", '"', "(", ")", "\\", "#", "  ", "%%bash", "a = !b"]
)
CELL_SOURCES = st.lists(st.lists(LINE_PARTS, max_size=4).map("".join), max_size=8).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL_SOURCES, max_size=5))
def test_each_code_line_is_one_module_line(sources: list[str]):
    nb = read(notebook(*(cell("code", s) for s in sources)))
    expected = [
        (number, line)
        for number, source in enumerate(sources, start=1)
        for line in range(1, len(source.removesuffix("\n").split("\n")) + 1)
        if source
    ]
    assert nb.cells == tuple(expected)
    assert nb.text.count("\n") == len(expected)
    assert all(nb.locate(i + 1) == origin for i, origin in enumerate(expected))
