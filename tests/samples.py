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
