"""A Snowflake emulator for tests and benchmarks: fakesnow's HTTP server, reached by the real connector.

Two things real Snowflake does that fakesnow does not, added here in front of its app:
- logins are checked: a user's password, or the JWT a key-pair login signs (fakesnow accepts anyone);
  a failure gets Snowflake's own answer (code 390100 / 390144);
- a database or schema named at login must exist (fakesnow creates them by default).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from typing import Any

from servers import free_port


class FakeSnowServer:
    def __init__(self, passwords: dict[str, str], public_keys: dict[str, str] | None = None) -> None:
        import fakesnow.server as fs_server
        import uvicorn
        from fakesnow.instance import FakeSnow

        fs_server.shared_fs = FakeSnow(create_database_on_connect=False, create_schema_on_connect=False)
        self.passwords = {u.upper(): p for u, p in passwords.items()}
        self.public_keys = {u.upper(): k for u, k in (public_keys or {}).items()}
        self.port = free_port()
        self._app = fs_server.app
        self._server = uvicorn.Server(uvicorn.Config(self._asgi, host="127.0.0.1", port=self.port, log_level="error",
                                                     interface="asgi3"))
        self._thread = threading.Thread(target=self._server.run, name="fakesnow", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fakesnow server did not start")
            time.sleep(0.05)

    def url(self, user: str, database: str, schema: str, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"snowflake://{user}@127.0.0.1:{self.port}/{database}/{schema}" + (f"?{query}" if query else "")

    def connect(self, **kwargs: Any):  # type: ignore[no-untyped-def]
        """An administrator's session (no login check), for seeding and reading back."""
        import snowflake.connector

        return snowflake.connector.connect(
            user="admin", password="admin", account="fakesnow", host="127.0.0.1", port=self.port, protocol="http",
            network_timeout=5, session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}, **kwargs)

    def execute(self, *statements: str) -> list[list[tuple]]:
        with self.connect() as conn, conn.cursor() as cur:
            out = []
            for sql in statements:
                cur.execute(sql)
                out.append(cur.fetchall() if cur.description else [])
            return out

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # the login check ---------------------------------------------------------------------------
    async def _asgi(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/session/v1/login-request":
            return await self._app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = dict(scope["headers"])
        data = json.loads(gzip.decompress(body) if headers.get(b"content-encoding") == b"gzip" else body)["data"]
        refused = self._refuse(data)
        if refused is None:
            replayed = False

            async def replay() -> dict:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            return await self._app(scope, replay, send)
        from starlette.responses import JSONResponse

        code, text = refused
        await JSONResponse({"data": {"errorCode": code}, "code": code, "message": text, "success": False})(
            scope, receive, send)

    def _refuse(self, data: dict) -> tuple[str, str] | None:
        user = str(data.get("LOGIN_NAME", "")).upper()
        if user == "ADMIN":
            return None
        if data.get("AUTHENTICATOR") == "SNOWFLAKE_JWT":
            import jwt

            try:
                jwt.decode(data.get("TOKEN", ""), self.public_keys[user], algorithms=["RS256"])
                return None
            except (KeyError, jwt.PyJWTError):
                return "390144", "JWT token is invalid."
        if user in self.passwords and data.get("PASSWORD") == self.passwords[user]:
            return None
        return "390100", "Incorrect username or password was specified."
