"""Framework prompt objects: LangChain, LlamaIndex, pydantic-ai and string.Template."""

from __future__ import annotations

from conftest import conversation, extract, only_site, render


def test_langchain_chat_prompt_template_is_checked_where_it_is_built() -> None:
    site = only_site(
        """
        from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", "You help {user_name}. Be brief."),
                MessagesPlaceholder("history"),
                ("human", "{question}"),
            ]
        )
        """
    )
    assert site.api == "langchain.prompt"
    assert conversation(site) == [
        ("system", ["You help {user_name}. Be brief."]),
        ("history", ["{history!h}"]),
        ("user", ["{question}"]),
    ]


def test_langchain_message_classes_and_placeholder_tuples() -> None:
    site = only_site(
        """
        from langchain_core.messages import SystemMessage
        from langchain_core.prompts import ChatPromptTemplate, HumanMessagePromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [
                SystemMessage(content="Rules."),
                ("placeholder", "{history}"),
                HumanMessagePromptTemplate.from_template("Q: {q}"),
            ]
        )
        """
    )
    assert conversation(site) == [
        ("system", ["Rules."]),
        ("history", ["{history!h}"]),
        ("user", ["Q: {q}"]),
    ]


def test_prompt_template_fields_are_slots() -> None:
    model = extract(
        """
        from langchain_core.prompts import PromptTemplate
        from string import Template

        QA_TEMPLATE = PromptTemplate.from_template("Context: {context}. Answer {question}.")
        MAIL_TEMPLATE = Template("Dear $name, your order ${order} shipped. Costs $$5.")
        """
    )
    assert [(t.name, render(t.template)) for t in model.templates] == [
        ("QA_TEMPLATE", "Context: {context}. Answer {question}."),
        ("MAIL_TEMPLATE", "Dear {name}, your order {order} shipped. Costs $5."),
    ]


def test_pydantic_ai_agent_and_its_system_prompt_functions() -> None:
    site = only_site(
        """
        from datetime import date
        from pydantic_ai import Agent, RunContext

        agent = Agent(
            "anthropic:claude-sonnet-4-5", system_prompt="Rules.", instructions="Be kind."
        )


        @agent.system_prompt
        def add_date() -> str:
            return f"Today is {date.today()}."


        @agent.system_prompt(dynamic=True)
        def add_user(ctx: RunContext[str]) -> str:
            return f"The user is {ctx.deps}."
        """
    )
    assert (site.api, site.model) == ("pydantic_ai.agent", "anthropic:claude-sonnet-4-5")
    assert [render(b.content) for b in site.system] == [
        "Rules.",
        "Be kind.",
        "Today is {date.today()!v}.",
        "The user is {ctx.deps}.",
    ]
