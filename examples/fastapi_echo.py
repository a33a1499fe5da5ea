"""A FastAPI echo server with wsframe as uvicorn's WebSocket engine.

Run it either way:

    uvicorn examples.fastapi_echo:app --ws wsframe.asgi:UvicornProtocol
    python examples/fastapi_echo.py [--port 8000]

then talk to it with ``python -m websockets ws://127.0.0.1:8000/ws/lobby``
(or any WebSocket client). Every text message comes back prefixed with the
room name; ``/ws/{room}`` accepts the ``chat`` subprotocol when offered.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws/{room}")
async def echo(websocket: WebSocket, room: str) -> None:
    await websocket.accept(subprotocol="chat" if "chat" in websocket.scope["subprotocols"] else None)
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{room}: {text}")
    except WebSocketDisconnect:
        pass


def main() -> None:
    import uvicorn

    from wsframe.asgi import UvicornProtocol

    parser = argparse.ArgumentParser(description="FastAPI echo on uvicorn with wsframe")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # ws= takes the class (or the import string "wsframe.asgi:UvicornProtocol").
    uvicorn.run(app, host=args.host, port=args.port, ws=UvicornProtocol)


if __name__ == "__main__":
    main()
