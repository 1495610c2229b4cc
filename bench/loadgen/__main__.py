"""One measurement against a server that is already running on this machine.

    cd bench && python3 -m loadgen --port 8080 --replug --listeners 1000 --rate 50 --seconds 5
    cd bench && python3 -m loadgen --port 9000 --listeners 1000 --rate 50     # reference protocol

With --replug it signs up the senders, creates a room and makes guest listeners through the REST
API first (on a scratch database, please: it leaves accounts behind). Without it, the server is
taken to speak the reference broadcaster's protocol (any token is accepted). Give --pid to have
the server's CPU time measured. bench/run.py is the full benchmark; this is for trying things.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from loadgen import replug_setup
from loadgen.scenario import Bench

LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def main(args: argparse.Namespace) -> None:
    if args.replug:
        cast = await replug_setup.make_senders(args.host, args.port, args.senders)
        await replug_setup.rejoin(args.host, args.port, cast)
        await replug_setup.make_guests(args.host, args.port, cast, args.listeners)
        listener_tokens = cast.guest_tokens
        sender_tokens = [account.token for account in cast.senders]
    else:
        listener_tokens = ["bench"] * args.listeners
        sender_tokens = ["bench"] * args.senders
    bench = Bench(
        args.host,
        args.port,
        args.pid or os.getpid(),
        poll_interval=args.poll_ms / 1000,
        reader=args.reader,
    )
    try:
        await bench.connect_senders(sender_tokens)
        connected = await bench.connect_listeners(listener_tokens, 256, 120)
        print(f"connected {connected.opened}/{connected.wanted} in {connected.seconds:.2f}s")
        await bench.quiesce()
        for _ in range(args.repeat):
            print((await bench.step(args.rate, args.seconds)).line())
            await bench.quiesce()
        if not args.pid:
            print("(no --pid: the 'server' CPU figures above are this process's own)")
    finally:
        await bench.close_all()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python3 -m loadgen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="the server's process id, for its CPU time")
    parser.add_argument("--replug", action="store_true", help="set up accounts and guests first")
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rate", type=float, default=20.0, help="chats per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--poll-ms", type=float, default=1.0)
    parser.add_argument("--reader", default="native", choices=("native", "python"))
    arguments = parser.parse_args()
    if arguments.host not in LOOPBACK:
        parser.error("the load generator only talks to servers on this machine")
    arguments.repeat = max(1, min(arguments.repeat, 100))
    asyncio.run(main(arguments))
