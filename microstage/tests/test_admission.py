"""microstage.admission: at most N requests of a process are worked on at once, in the order they came."""
import asyncio

from microstage.admission import Admission


def make_app(log, gate, *, stream=False):
    active = {"now": 0, "most": 0}

    async def app(scope, receive, send):
        active["now"] += 1
        active["most"] = max(active["most"], active["now"])
        log.append(("start", scope["n"]))
        await gate.wait()
        active["now"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if stream:
            await asyncio.sleep(0.05)  # a long body after the response started
        await send({"type": "http.response.body", "body": b"ok"})

    return app, active


async def call(app, n, sent, kind="http"):
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append((n, message["type"]))

    await app({"type": kind, "n": n}, receive, send)


async def test_at_most_slots_requests_at_once_first_come_first_served():
    log, sent, gate = [], [], asyncio.Event()
    inner, active = make_app(log, gate)
    app = Admission(inner, 3)
    tasks = [asyncio.create_task(call(app, n, sent)) for n in range(10)]
    await asyncio.sleep(0.05)
    assert [n for _, n in log] == [0, 1, 2]  # the others wait in the event loop
    gate.set()
    await asyncio.gather(*tasks)
    assert active["most"] == 3
    assert [n for _, n in log] == list(range(10))  # in arrival order
    assert len([m for m in sent if m[1] == "http.response.body"]) == 10


async def test_a_slot_is_given_back_when_the_response_starts():
    log, sent, gate = [], [], asyncio.Event()
    gate.set()
    inner, active = make_app(log, gate, stream=True)
    app = Admission(inner, 1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.gather(*(call(app, n, sent) for n in range(5)))
    # bodies stream in parallel: five 50 ms bodies through one slot take ~50 ms, not 250
    assert loop.time() - t0 < 0.2
    assert len(log) == 5


async def test_an_app_that_fails_gives_its_slot_back():
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    app = Admission(broken, 1)
    for n in range(3):
        try:
            await call(app, n, [])
        except RuntimeError:
            pass
    log, gate = [], asyncio.Event()
    gate.set()
    app.app, _ = make_app(log, gate)
    await asyncio.wait_for(call(app, 9, []), 1)
    assert log == [("start", 9)]


async def test_websockets_and_a_zero_limit_pass_straight_through():
    log, gate = [], asyncio.Event()
    inner, active = make_app(log, gate)
    for app, kind in ((Admission(inner, 1), "websocket"), (Admission(inner, 0), "http")):
        log.clear()
        tasks = [asyncio.create_task(call(app, n, [], kind)) for n in range(4)]
        await asyncio.sleep(0.02)
        assert len(log) == 4
        gate.set()
        await asyncio.gather(*tasks)
        gate.clear()


def test_the_production_application_is_behind_the_admission_limit(settings):
    from microstage import asgi

    http = asgi.application.application_mapping["http"]
    seen, app = [], http
    while app is not None:
        seen.append(type(app).__name__)
        app = getattr(app, "app", None)
    assert "Admission" in seen and seen.index("HealthFastPath") < seen.index("Admission")
