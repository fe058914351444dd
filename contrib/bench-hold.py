#!/usr/bin/python3
# Hold many SSH sessions at once from one process, each with one remote
# forward, the equivalent of COUNT copies of
#
#   ssh -N -p PORT -i KEY -R 0:localhost:DEST USER@HOST
#
# for contrib/bench.sh's memory-at-scale rows.
#
#   bench-hold.py [-b BATCH] [-c CIPHER] [-t TIMEOUT] [-w SETTLE]
#                 HOST PORT USER KEY COUNT DEST
#
# Opens the COUNT connections with at most BATCH (default 50) of them
# between connecting and having their forward, so that a server's
# MaxStartups never sees more than BATCH unauthenticated connections from
# it; each has TIMEOUT seconds (default 60) to connect and log in, and as
# long again to get its forward. CIPHER, if given, is the only cipher the
# client offers. SETTLE seconds (default 2) after the last one, writes to
# stdout
#
#   held=N started=COUNT failed=F lag=SECONDS
#
# where N is how many got their forward and are still connected, and
# SECONDS is the longest this process was late for a timer of its own
# until then (on a busy machine one client for thousands of sessions can
# fall behind its servers); writes the reasons of the failures, counted,
# to stderr; then holds the sessions until SIGTERM or SIGINT, closes them
# and exits 0. Needs python3-asyncssh (Debian).
import argparse
import asyncio
import collections
import resource
import signal
import sys
import warnings

with warnings.catch_warnings():
    # python3-cryptography warns about the old ciphers asyncssh imports.
    warnings.simplefilter('ignore')
    import asyncssh


class Held(asyncssh.SSHClient):
    """One client connection; remembers why it ended."""

    def __init__(self):
        self.lost = None
        self.closed = False

    def connection_lost(self, exc):
        self.closed = True
        self.lost = exc


def reason(exc):
    """A short description of an exception, for the failure counts."""
    text = str(exc).strip().splitlines()
    text = text[0] if text else ''
    return f'{type(exc).__name__}: {text}' if text else type(exc).__name__


async def open_one(args, options, window, sessions, failures):
    """Open one connection and its forward, within the window."""
    async with window:
        conn = None
        stage = 'login'
        try:
            conn, client = await asyncio.wait_for(
                asyncssh.create_connection(Held, args.host, args.port,
                                           options=options),
                args.timeout)
            stage = 'forward'
            listener = await asyncio.wait_for(
                conn.forward_remote_port('localhost', 0, 'localhost',
                                         args.dest),
                args.timeout)
            if listener is None:
                raise asyncssh.ChannelListenError('forward refused')
        except Exception as exc:  # every failure is counted, none is fatal
            if isinstance(exc, asyncio.TimeoutError):
                failures[f'no {stage} within {args.timeout:g} s'] += 1
            else:
                failures[f'{stage}: {reason(exc)}'] += 1
            if conn is not None:
                conn.abort()
            return
        sessions.append((conn, client, listener))


async def lag(worst):
    """Keep in worst[0] the longest delay of a half-second timer."""
    loop = asyncio.get_running_loop()
    while True:
        t = loop.time()
        await asyncio.sleep(0.5)
        worst[0] = max(worst[0], loop.time() - t - 0.5)


async def run(args):
    try:
        key = asyncssh.read_private_key(args.key)
    except (OSError, asyncssh.KeyImportError) as exc:
        print(f'bench-hold: {args.key}: {exc}', file=sys.stderr)
        return 1
    # One set of options for all: no configuration files, no agent, no
    # host key check, public key only.
    try:
        options = asyncssh.SSHClientConnectionOptions(
            username=args.user, client_keys=[key], known_hosts=None,
            agent_path=None, config=None, preferred_auth='publickey',
            encryption_algs=[args.cipher] if args.cipher else ())
    except ValueError as exc:
        print(f'bench-hold: {exc}', file=sys.stderr)
        return 1
    window = asyncio.Semaphore(args.batch)
    sessions = []
    failures = collections.Counter()
    worst = [0.0]
    timer = asyncio.ensure_future(lag(worst))
    await asyncio.gather(*(open_one(args, options, window, sessions,
                                    failures)
                           for _ in range(args.count)))
    await asyncio.sleep(args.settle)
    timer.cancel()

    held = 0
    for conn, client, listener in sessions:
        if not client.closed:
            held += 1
        elif client.lost is not None:
            failures[f'lost after its forward: {reason(client.lost)}'] += 1
        else:
            failures['closed by the server after its forward'] += 1
    for text, n in failures.most_common():
        print(f'bench-hold: {n} of {args.count}: {text}', file=sys.stderr)
    print(f'held={held} started={args.count} '
          f'failed={args.count - held} lag={worst[0]:.1f}', flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for conn, client, listener in sessions:
        conn.close()
    if sessions:
        await asyncio.wait([asyncio.ensure_future(conn.wait_closed())
                            for conn, client, listener in sessions],
                           timeout=10)
    return 0


def positive(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f'{text}: not a positive number')
    return n


def main():
    p = argparse.ArgumentParser(
        description='Hold COUNT SSH sessions, each with one remote forward '
        'of port 0 to localhost:DEST.')
    p.add_argument('-b', dest='batch', type=positive, default=50,
                   help='connections between connecting and having their '
                   'forward at most (default 50)')
    p.add_argument('-c', dest='cipher',
                   help='the one cipher to offer (default asyncssh\'s list)')
    p.add_argument('-t', dest='timeout', type=float, default=60,
                   help='seconds each connection has to log in, and '
                   'then to get its forward (default 60)')
    p.add_argument('-w', dest='settle', type=float, default=2,
                   help='seconds to wait after the last before counting '
                   '(default 2)')
    p.add_argument('host')
    p.add_argument('port', type=positive)
    p.add_argument('user')
    p.add_argument('key')
    p.add_argument('count', type=positive)
    p.add_argument('dest', type=positive)
    args = p.parse_args()
    # One descriptor per connection: take all the hard limit allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return asyncio.run(run(args))


if __name__ == '__main__':
    sys.exit(main())
