"""The stand-in Messages API, driven by the real `anthropic` SDK."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from typing import Any

import anthropic
import pytest

from tests.standin import (
    HttpError,
    MidStreamError,
    StandIn,
    Text,
    Thinking,
    ToolUse,
    Turn,
)

MODEL = "claude-test-1"
HELLO = [{"role": "user", "content": "Hello"}]
LONG_SYSTEM = "You are a careful data assistant. " * 200  # ~1,700 tokens: above the caching minimum
CACHED = {"cache_control": {"type": "ephemeral"}}


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    with StandIn() as server:
        yield server


@pytest.fixture
def client(api: StandIn) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test-key", base_url=api.base_url, max_retries=2)


def stream(client: anthropic.Anthropic, messages: list[dict[str, Any]], **kwargs: Any) -> anthropic.types.Message:
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages, **kwargs) as s:
        return s.get_final_message()


def cached_system(text: str = LONG_SYSTEM) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, **CACHED}]


def post(api: StandIn, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(api.base_url + path, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_text_streams_in_pieces(api: StandIn, client: anthropic.Anthropic) -> None:
    text = "Hello! Here are the tables of the demo connection."
    api.push(Turn([Text(text)]))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert "".join(pieces) == text
    assert len(pieces) == len(text) // 12 + 1
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert api.requests[0]["stream"] is True
    assert final.usage.output_tokens == api.usages[0]["output_tokens"] > 0


def test_tool_input_is_assembled_from_split_fragments(api: StandIn, client: anthropic.Anthropic) -> None:
    tool_input = {"connection": "demo", "sql": 'SELECT "název" FROM t WHERE x = \'a\\b\'', "limit": [1, 2.5, None]}
    call = ToolUse("run_query", tool_input)
    api.push(Turn([Text("Let me look."), call]))
    fragments = []
    with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as s:
        for event in s:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                fragments.append(event.delta.partial_json)
        final = s.get_final_message()
    assert fragments[0] == "" and len(fragments) > 3
    assert final.stop_reason == "tool_use"
    block = final.content[1]
    assert (block.type, block.id, block.name, block.input) == ("tool_use", call.id, "run_query", tool_input)
    assert call.id.startswith("toolu_") and len(call.id) == 30


def test_overloaded_is_retried_after_retry_after(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(HttpError(529, retry_after=0.01), Turn([Text("Recovered.")]))
    assert stream(client, HELLO).content[0].text == "Recovered."
    assert len(api.requests) == 2


def test_rate_limit_beyond_max_retries_raises(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(*[HttpError(429, retry_after=0.01)] * 3, Turn([Text("never reached")]))
    with pytest.raises(anthropic.RateLimitError) as caught:
        stream(client, HELLO)
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert len(api.requests) == 3  # the first try and two retries


def test_should_retry_false_stops_the_retries(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(HttpError(500, should_retry=False))
    with pytest.raises(anthropic.InternalServerError):
        stream(client, HELLO)
    assert len(api.requests) == 1


def test_mid_stream_error_raises_without_retry(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(MidStreamError(after_events=4), Turn([Text("not used")]))
    with pytest.raises(anthropic.APIStatusError) as caught:
        stream(client, HELLO)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert len(api.requests) == 1


def test_missing_tool_result_is_a_bad_request(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([Text("kept for the next valid request")]))
    messages = [
        {"role": "user", "content": "List tables"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_abc", "name": "tables", "input": {}}]},
        {"role": "user", "content": "Well?"},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        stream(client, messages)
    wording = "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_abc."
    assert wording in str(caught.value)
    messages[2]["content"] = [{"type": "tool_result", "tool_use_id": "toolu_abc", "content": "orders"}]
    assert stream(client, messages).content[0].text == "kept for the next valid request"


INVALID = [  # a change to a valid body (None removes the key) and the real API's wording for it
    ({"max_tokens": None}, "max_tokens: Field required"),
    ({"model": None}, "model: Field required"),
    ({"messages": [{"role": "assistant", "content": "Hi"}]}, 'messages: first message must use the "user" role'),
    ({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}, "tools.0.custom.name: String should"),
    ({"system": [{"type": "text", "text": str(i), **CACHED} for i in range(5)]},
     "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    ({"messages": [*HELLO, {"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]},
     "messages.1.content.0.thinking.signature: Field required"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}]},
     "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x."),
]


@pytest.mark.parametrize(("change", "wording"), INVALID)
def test_invalid_requests_get_the_real_wording(api: StandIn, change: dict[str, Any], wording: str) -> None:
    valid = {"model": MODEL, "max_tokens": 10, "messages": HELLO}
    body = {key: value for key, value in (valid | change).items() if value is not None}
    status, reply = post(api, "/v1/messages", body)
    assert status == 400
    assert reply["error"]["type"] == "invalid_request_error"
    assert wording in reply["error"]["message"]
    assert api.requests == [body]


def test_same_system_prompt_is_read_from_cache(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([Text("one")]), Turn([Text("two")]), Turn([Text("three")]))
    first = stream(client, HELLO, system=cached_system()).usage
    second = stream(client, HELLO, system=cached_system()).usage
    changed = stream(client, HELLO, system=cached_system(LONG_SYSTEM + "Today is Monday.")).usage
    assert first.cache_read_input_tokens == 0 and first.cache_creation_input_tokens > 1024
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens > 0  # the uncached user message
    assert changed.cache_read_input_tokens == 0 and changed.cache_creation_input_tokens > 0
    assert [u["cache_read_input_tokens"] for u in api.usages] == [0, second.cache_read_input_tokens, 0]


def test_short_prompt_is_not_cached(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([Text("one")]), Turn([Text("two")]))
    for _ in range(2):
        usage = stream(client, HELLO, system=cached_system("Be brief.")).usage
        assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 0)


def test_rolling_breakpoint_reads_the_earlier_conversation(api: StandIn, client: anthropic.Anthropic) -> None:
    api.responder = lambda body: Turn([Text("Answer to " + body["messages"][-1]["content"][0]["text"])])
    messages: list[dict[str, Any]] = []
    usages = []
    for question in ["first question", "second question", "third question"]:
        for message in messages:  # only the newest message carries the rolling breakpoint
            for block in message["content"]:
                block.pop("cache_control", None)
        messages.append({"role": "user", "content": [{"type": "text", "text": question, **CACHED}]})
        reply = stream(client, messages, system=cached_system())
        usages.append(reply.usage)
        messages.append({"role": "assistant", "content": [{"type": "text", "text": reply.content[0].text}]})
    for before, after in itertools.pairwise(usages):
        cached_before = before.cache_read_input_tokens + before.cache_creation_input_tokens
        assert after.cache_read_input_tokens == cached_before  # the whole earlier prompt, not just the system
        assert 0 < after.cache_creation_input_tokens < 50  # only the new turn is written
        assert after.input_tokens == 0
    api.reset_cache()
    assert stream(client, messages[:-1], system=cached_system()).usage.cache_read_input_tokens == 0


def test_count_tokens_matches_the_messages_usage(api: StandIn, client: anthropic.Anthropic) -> None:
    tools = [{"name": "list_tables", "description": "Tables of a connection", "input_schema": {"type": "object"}}]
    counted = client.messages.count_tokens(model=MODEL, messages=HELLO, system=LONG_SYSTEM, tools=tools)
    api.push(Turn([Text("ok")]))
    usage = stream(client, HELLO, system=LONG_SYSTEM, tools=tools).usage
    assert counted.input_tokens == usage.input_tokens > 400
    assert len(api.requests) == 1 and api.requests[0]["stream"] is True  # count_tokens is not recorded


def test_thinking_round_trips_with_its_signature(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([Thinking("The user wants tables.", signature="sig-123"), Text("Here.")]), Turn([Text("Done.")]))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    final = stream(client, HELLO, thinking=thinking)
    assert (final.content[0].type, final.content[0].thinking, final.content[0].signature) == (
        "thinking", "The user wants tables.", "sig-123")
    messages = [*HELLO, {"role": "assistant", "content": final.content}, {"role": "user", "content": "Thanks"}]
    assert stream(client, messages, thinking=thinking).content[0].text == "Done."
    assert api.requests[1]["messages"][1]["content"][0]["signature"] == "sig-123"


def test_closing_a_slow_stream_early_keeps_the_client_usable(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([Text("x" * 2000)], delay=0.2, chunk=1), Turn([Text("Next answer.")]))  # ~400 s in full

    def read_one_piece_and_close() -> None:
        with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as s:
            assert next(iter(s.text_stream)) == "x"

    reader = threading.Thread(target=read_one_piece_and_close)
    reader.start()
    reader.join(timeout=60)  # a hang guard: closing must not wait for the rest of the stream
    assert not reader.is_alive()
    assert stream(client, HELLO).content[0].text == "Next answer."


def test_non_streaming_request_gets_a_json_message(api: StandIn, client: anthropic.Anthropic) -> None:
    api.push(Turn([ToolUse("list_tables", {"connection": "demo"})]))
    message = client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
    assert message.stop_reason == "tool_use" and message.content[0].input == {"connection": "demo"}
    assert "stream" not in api.requests[0]


def test_no_reply_queued_is_an_error_not_a_hang(api: StandIn, client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError, match="no reply queued"):
        stream(client, HELLO)
    assert len(api.requests) == 1


def test_unknown_path_is_404(api: StandIn) -> None:
    status, reply = post(api, "/v1/complete", {})
    assert status == 404 and reply["error"]["type"] == "not_found_error"



def test_sdk_finds_the_stand_in_through_the_environment(api: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)  # how a kernel in another process is pointed here
    api.push(Turn([Text("From the environment.")]))
    assert stream(anthropic.Anthropic(api_key="test-key"), HELLO).content[0].text == "From the environment."
