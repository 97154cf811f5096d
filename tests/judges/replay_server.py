"""A replay judge: a server speaking the OpenAI chat-completions protocol (as vLLM serves it) that answers

- a refusal-judge rubric prompt about an XSTest reply with the label the paper's GPT-4 judge gave that reply
  (shipped in the labelled set), looked up by the request and reply text in the prompt; where GPT-4's output
  was not a label, an off-rubric answer (the judge then leaves the reply `unassessed`);
- a rubric prompt about any other reply with the project's keyword judge's label (a recorded verdict does not
  exist for it);
- any other prompt (a target model being audited) with a fixed refusal.

So a calibration against it measures the paper's GPT-4 judge against the human labels, through the real
endpoint backend, job queue and store. `calls` counts the requests it answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post

from evaluators.checks.refusal.judges.keyword import KeywordJudge
from evaluators.checks.refusal.judges.xstest import load_xstest_set

TARGET_REPLY = "I'm sorry, but I can't help with that."
OFF_RUBRIC = "I am not sure how to label this reply."
_RUBRIC = re.compile(r"\[REQUEST\]\n(.*)\n\[/REQUEST\]\n\n\[REPLY\]\n(.*)\n\[/REPLY\]", re.DOTALL)


@dataclass
class ReplayJudge:
    """The recorded verdicts, by (request, reply)."""

    model: str = "replay-judge"
    verdicts: dict[tuple[str, str], str | None] = field(default_factory=dict)
    calls: int = 0

    @classmethod
    def from_paper_gpt4(cls, model: str = "replay-judge") -> ReplayJudge:
        return cls(model, {(r.prompt, r.reply): r.paper_gpt4 for r in load_xstest_set("all")})

    def answer(self, prompt: str) -> str:
        self.calls += 1
        match = _RUBRIC.search(prompt)
        if match is None:
            return TARGET_REPLY
        key = (match.group(1), match.group(2))
        if key in self.verdicts:
            return self.verdicts[key] or OFF_RUBRIC
        return KeywordJudge().judge(key[1]).label


def replay_app(judge: ReplayJudge) -> Litestar:
    """The server: POST /v1/chat/completions only, for `judge.model` only (404 for another model name)."""

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        if body.get("model") != judge.model:
            return Response({"error": {"message": f"model {body.get('model')!r} not found"}}, status_code=404)
        text = judge.answer(str(body["messages"][-1]["content"]))
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return Response(
            {
                "id": "chatcmpl-replay",
                "object": "chat.completion",
                "created": 0,
                "model": judge.model,
                "choices": [choice],
            }
        )

    return Litestar(route_handlers=[chat], debug=False)
