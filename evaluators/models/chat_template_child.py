"""Renders a request's chat template in a child process: `python -I chat_template_child.py` (stdin -> stdout).

A chat template supplied with a request is hostile input. Jinja's sandbox blocks attribute escapes, but not
work or memory ("a" * 10**10, nested loops), so the render runs here, in a process with CPU-time and address-
space limits that the parent also kills on a wall-clock timeout. This file imports only the standard library
and jinja2 (it runs isolated, outside the project's packages), and mirrors the environment transformers gives
chat templates: ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, loop controls, a `generation`
block, `tojson`, `raise_exception`, `strftime_now`, `dict` and `namespace`.

stdin: {"template": str, "conversations": [[{"role", "content"}, ...], ...], "variables": {...},
"add_generation_prompt": bool, "cpu_s": int, "memory_bytes": int, "max_chars": int}.
stdout: {"rendered": [str, ...]} or {"error": "syntax" | "security" | "template" | "too_long" | "memory",
"message": str}.
"""

from __future__ import annotations

import json
import resource
import sys
from datetime import datetime
from typing import Any


def _environment() -> Any:
    import jinja2
    import jinja2.ext
    import jinja2.nodes
    import jinja2.utils
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationBlock(jinja2.ext.Extension):
        """`{% generation %}...{% endgeneration %}` renders its body (transformers tracks it; we need not)."""

        tags = {"generation"}  # noqa: RUF012 (jinja2.ext.Extension declares a set)

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return str(caller())

    class TemplateDict:
        def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
            return dict(*args, **kwargs)

        def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
            return dict.fromkeys(*args, **kwargs)

    class TemplateNamespace(jinja2.utils.Namespace):
        def __init__(*args: Any, **kwargs: Any) -> None:
            self, rest = args[0], args[1:]
            attrs = dict(*rest, **kwargs)
            for name in attrs:
                TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name: str, value: Any) -> None:
            TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check_name(name: Any) -> None:
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"namespace attribute {name!r} starts with an underscore")

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False
    ) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationBlock, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals.update(
        raise_exception=raise_exception, strftime_now=strftime_now, dict=TemplateDict(), namespace=TemplateNamespace
    )
    return env


def render(job: dict[str, Any]) -> dict[str, Any]:
    """Render every conversation of `job`; the first failure is the answer."""
    import jinja2

    try:
        template = _environment().from_string(job["template"])
    except jinja2.TemplateSyntaxError as exc:
        return {"error": "syntax", "message": f"line {exc.lineno}: {exc.message}"}
    out: list[str] = []
    for messages in job["conversations"]:
        try:
            text = template.render(
                messages=messages, add_generation_prompt=job["add_generation_prompt"], **job["variables"]
            )
        except jinja2.exceptions.SecurityError as exc:
            return {"error": "security", "message": str(exc)[:300]}
        except MemoryError:
            return {"error": "memory", "message": "the template used more memory than a chat template may"}
        except Exception as exc:  # the template's own raise_exception, undefined names, type errors
            return {"error": "template", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
        if len(text) > job["max_chars"]:
            return {"error": "too_long", "message": f"a rendered prompt of {len(text)} characters"}
        out.append(text)
    return {"rendered": out}


def main() -> None:
    job = json.loads(sys.stdin.read())
    resource.setrlimit(resource.RLIMIT_CPU, (job["cpu_s"], job["cpu_s"]))
    resource.setrlimit(resource.RLIMIT_AS, (job["memory_bytes"], job["memory_bytes"]))
    sys.stdout.write(json.dumps(render(job)))


if __name__ == "__main__":
    main()
