"""Source texts several test modules lint: one place, so that they stay the same file."""

from __future__ import annotations

import textwrap

# A support bot whose system message starts with the time: PC101 and PC102 at 15:55.
SUPPORT_BOT = textwrap.dedent(
    '''\
    from datetime import datetime
    from openai import OpenAI

    client = OpenAI()
    RULES = """You are the support agent of Acme Cloud. Answer questions about hosting plans,
    billing and deployments. Be concise and factual, never invent account details, and escalate
    to a human when the customer asks for a refund or threatens to cancel their subscription."""


    def answer(question: str) -> str:
        now = datetime.now()
        response = client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": f"Today is {now}. " + RULES},
                {"role": "user", "content": question},
            ],
        )
        return response.choices[0].message.content
    '''
)

# A bot whose system message starts with `datetime.now()`: PC101 and PC102.
DATED_BOT = textwrap.dedent(
    """\
    import datetime

    from openai import OpenAI

    client = OpenAI()


    def answer(question: str) -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "system",
                    "content": f"Today is {datetime.datetime.now()}. You answer questions about "
                    "Acme Cloud, a hosting service. Be brief and exact, cite the page you rely "
                    "on, never invent a feature, and when you do not know, say so.",
                },
                {"role": "user", "content": question},
            ],
        )
        return response.choices[0].message.content
    """
)
