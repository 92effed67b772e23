"""Telegram bot handlers as entry points: aiogram 3 (`@router.message(...)`,
`dp.message.register(fn, ...)`), aiogram 2 (`@dp.message_handler(...)`) and
python-telegram-bot (`application.add_handler(CommandHandler("start", start))`)."""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location

AIOGRAM_EVENTS = ("message", "edited_message", "channel_post", "callback_query", "inline_query",
                  "chosen_inline_result", "pre_checkout_query", "shipping_query", "chat_member",
                  "my_chat_member", "chat_join_request", "poll", "poll_answer", "errors",
                  "business_message")
AIOGRAM_OBJECTS = ("aiogram.Router", "aiogram.Dispatcher")
PTB_HANDLERS = ("CommandHandler", "MessageHandler", "CallbackQueryHandler", "InlineQueryHandler",
                "ConversationHandler", "PreCheckoutQueryHandler", "ChatMemberHandler")


@dataclass(frozen=True)
class BotHandler:
    framework: str  # aiogram, aiogram2, ptb
    event: str  # message, callback_query, command...
    filters: str  # filter expressions as written
    function: str  # "module:qualname"
    location: Location

    @property
    def label(self) -> str:
        return f"bot {self.event} {self.filters}".strip()


def _aiogram_objects(project) -> set[str]:
    names = set()
    for module in project.summaries("source"):
        for fact in module.assignments:
            if fact.value is not None and fact.value.kind == "call" and fact.value.name in AIOGRAM_OBJECTS:
                names.add(f"{module.module}:{fact.target}")
    return names


def build_bot_handlers(project) -> tuple[BotHandler, ...]:
    graph = project.callgraph
    objects = _aiogram_objects(project)
    uses_aiogram = bool(objects) or any(
        f.target.startswith("aiogram") for m in project.summaries("source") for f in m.imports)
    handlers: list[BotHandler] = []
    for module in project.summaries("source"):
        for fn in module.functions:
            key = f"{module.module}:{fn.qualname}"
            for deco in fn.decorators:
                if deco.kind != "call":
                    continue
                head = deco.text.split("(")[0]
                _, _, event = head.rpartition(".")
                filters = ", ".join(v.text for v in deco.items)[:120]
                if uses_aiogram and event in AIOGRAM_EVENTS and "." in head:
                    handlers.append(BotHandler("aiogram", event, filters, key, Location(module.path, deco.line)))
                elif event.endswith("_handler") and event[:-8] in AIOGRAM_EVENTS and uses_aiogram:
                    handlers.append(BotHandler("aiogram2", event[:-8], filters or
                                               ", ".join(f"{k}={v.text}" for k, v in deco.keywords)[:120],
                                               key, Location(module.path, deco.line)))
        for call in module.calls:
            parts = call.callee.split(".")
            if uses_aiogram and len(parts) >= 3 and parts[-1] == "register" and parts[-2] in AIOGRAM_EVENTS and call.args:
                target = call.args[0]
                key = graph.resolve_call(module, call.scope, target.text, target.name) if target.kind in ("name", "attr") else None
                if key:
                    filters = ", ".join(v.text for v in call.args[1:])[:120]
                    handlers.append(BotHandler("aiogram", parts[-2], filters, key, Location(module.path, call.line)))
            elif parts[-1] == "add_handler" and call.args and call.args[0].kind == "call":
                handler = call.args[0]
                kind = handler.name.rsplit(".", 1)[-1]
                if kind not in PTB_HANDLERS:
                    continue
                refs = [v for v in handler.items if v.kind in ("name", "attr")]
                callback = handler.keyword("callback") or (refs[-1] if refs else None)
                key = graph.resolve_call(module, call.scope, callback.text, callback.name) if callback else None
                if key:
                    filters = ", ".join(v.text for v in handler.items if v is not callback)[:120]
                    handlers.append(BotHandler("ptb", kind.replace("Handler", "").lower() or "update",
                                               filters, key, Location(module.path, call.line)))
    return tuple(sorted(handlers, key=lambda h: (h.location.path, h.location.line)))
