"""A minimal starlette app on uvicorn (uvloop, httptools): the issue's reference point."""

import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def invocations(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    return Response(orjson.dumps({"y": payload["x"] * 2}), media_type="application/json")


app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
