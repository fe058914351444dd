#!/usr/bin/python3
#
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
#
# windowpeer.py: an ssh -R client, written with asyncssh, that tests how
# portholed bounds what the data a client sends on a channel can make it
# hold. window.sh drives it.
#
# usage: windowpeer.py MODE HOST PORT USER KEY NBYTES
#
# It logs in with KEY, asks for a random remote forward (like
# ssh -R 0:...) and prints "port N" on stdout. Then it waits for a line on
# stdin ("go"), connects to that port as the public client (with a small
# receive buffer, so that what waits, waits in portholed) and, when
# portholed opens the forwarded-tcpip channel, writes NBYTES into it:
#
#   flood    ignoring the channel window: before each write the channel's
#            send window is set far beyond anything portholed granted
#            (asyncssh keeps it in SSHChannel._send_window and sends while
#            it is not 0: channel.py, _flush_send_buf). The public client
#            never reads. Expected: portholed disconnects the client.
#            Prints "disconnected: REASON" and exits 0 when it does, or
#            "not disconnected" and exits 1 if it has not 30 s after the
#            last byte was handed to the socket.
#   stderr   the same, as extended data (stderr), which has no meaning on
#            a forwarded-tcpip channel. Expected: portholed drops it and
#            stays connected. Prints "dropped N" and exits 0 once a
#            request sent after the last byte is answered.
#   session  the same, on a session channel (command "tcp") instead, and
#            no public client. Expected as for stderr: "dropped N".
#   orphan   the public client resets its connection as soon as the
#            channel opens, so portholed closes the channel; the client
#            never answers that CLOSE (which makes libssh keep the channel)
#            and then sends on it as in flood. Expected as for stderr:
#            "dropped N".
#   steady   keeping to the window, sending as soon as portholed grants
#            room, while the public client reads slowly (16 KiB at a time,
#            with a pause between reads): data waits in portholed, and
#            each time the public client makes room portholed takes some
#            from libssh, which with libssh 0.10 re-opens the window (see
#            sshd/relay.c). Expected: every byte arrives. Prints
#            "received N" and exits 0, or "disconnected: ..." and exits 1
#            on a disconnect or a short count.
#
# Exit 2 on a usage or connection error. The pauses pace the client and
# its reads; nothing here measures time.

import asyncio
import socket
import struct
import sys

import asyncssh
from asyncssh.constants import MSG_CHANNEL_CLOSE

MODES = ('flood', 'stderr', 'session', 'orphan', 'steady')
CHUNK = 1024 * 1024
# Let at most this much wait in our own transport before writing more.
TRANSPORT_HIGH = 8 * 1024 * 1024
# The room asyncssh is told it has: far more than any window.
HUGE_WINDOW = 1 << 40
# After the last byte, how long flood mode waits to be disconnected.
FLOOD_WAIT = 30
# SSH_EXTENDED_DATA_STDERR (RFC 4254, 5.2).
EXTENDED_STDERR = 1


def usage():
    print('usage: windowpeer.py %s HOST PORT USER KEY NBYTES' %
          '|'.join(MODES), file=sys.stderr)
    sys.exit(2)


async def pace(conn):
    """Wait while our own transport holds more than TRANSPORT_HIGH."""
    transport = conn.get_extra_info('transport')
    while (transport is not None and not transport.is_closing() and
           transport.get_write_buffer_size() > TRANSPORT_HIGH):
        await asyncio.sleep(0.01)


def send_past_window(chan, data, datatype):
    """Queue <data> on <chan> and send it all, whatever the window."""
    chan._send_window = HUGE_WINDOW
    # What SSHChannel.write() does, without its check that a TCP
    # channel carries no extended data.
    chan._send_buf.append((bytearray(data), datatype))
    chan._send_buf_len += len(data)
    chan._flush_send_buf()


async def flood(conn, chan, nbytes, datatype, lost):
    """Send <nbytes> on <chan> past its window; return what was sent."""
    chunk = b'\xa5' * CHUNK
    sent = 0
    try:
        while sent < nbytes and not lost.done():
            n = min(CHUNK, nbytes - sent)
            send_past_window(chan, chunk[:n], datatype)
            sent += n
            await pace(conn)
    except (OSError, asyncssh.Error):
        pass
    return sent


async def steady_writer(writer, nbytes):
    chunk = b'\x5a' * CHUNK
    sent = 0
    try:
        while sent < nbytes:
            n = min(CHUNK, nbytes - sent)
            writer.write(chunk[:n])
            sent += n
            await writer.drain()
        writer.write_eof()
    except (OSError, asyncssh.Error):
        pass
    return sent


async def slow_reader(sock, nbytes):
    loop = asyncio.get_running_loop()
    got = 0
    while got < nbytes:
        data = await loop.sock_recv(sock, 16384)
        if not data:
            break
        got += len(data)
        await asyncio.sleep(0.001)
    return got


async def barrier(conn):
    """
    Ask for another forward: portholed handles packets in order, so its
    answer means it has handled all that we sent before.
    """
    listener = await conn.create_server(lambda *args: None, 'localhost', 0)
    listener.close()


def ignore_close(chan, closed):
    """Make <chan> take no notice of a CLOSE, but for setting <closed>."""
    def handler(self, pkttype, pktid, packet):
        if not closed.done():
            closed.set_result(True)
    # process_packet() looks the handler up through the instance.
    chan._packet_handlers = dict(chan._packet_handlers)
    chan._packet_handlers[MSG_CHANNEL_CLOSE] = handler


async def main(mode, host, port, user, key, nbytes):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    lost = loop.create_future()
    opened = loop.create_future()
    closed = loop.create_future()

    class Client(asyncssh.SSHClient):
        def connection_lost(self, exc):
            if not lost.done():
                lost.set_result(exc)

    def handler_factory(orig_host, orig_port):
        async def handler(reader, writer):
            if mode == 'steady':
                sent = await steady_writer(writer, nbytes)
            elif mode == 'orphan':
                ignore_close(writer.channel, closed)
                opened.set_result(True)
                await asyncio.wait([closed, lost],
                                   return_when=asyncio.FIRST_COMPLETED)
                sent = await flood(conn, writer.channel, nbytes, None, lost)
            else:
                datatype = EXTENDED_STDERR if mode == 'stderr' else None
                sent = await flood(conn, writer.channel, nbytes, datatype,
                                   lost)
            done.set_result(sent)
            # Keep the channel open until the connection ends.
            await lost
        return handler

    try:
        conn, _ = await asyncssh.create_connection(
            Client, host, port, username=user, client_keys=[key],
            known_hosts=None, agent_path=None, config=None,
            preferred_auth='publickey')
        listener = await conn.start_server(handler_factory, 'localhost', 0)
    except (OSError, asyncssh.Error) as exc:
        print('cannot set up the tunnel: %s' % exc, file=sys.stderr)
        return 2
    print('port %d' % listener.get_port(), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)

    if mode == 'session':
        chan, _ = await conn.create_session(asyncssh.SSHClientSession, 'tcp',
                                            encoding=None)
        sent = await flood(conn, chan, nbytes, None, lost)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ('127.0.0.1', listener.get_port()))
        if mode == 'steady':
            got = await slow_reader(sock, nbytes)
        elif mode == 'orphan':
            await opened
            # A reset: portholed ends the relay and closes the channel.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack('ii', 1, 0))
            sock.close()
        sent = await done

    if mode == 'flood':
        try:
            exc = await asyncio.wait_for(asyncio.shield(lost), FLOOD_WAIT)
        except asyncio.TimeoutError:
            print('not disconnected (wrote %d bytes)' % sent, flush=True)
            conn.abort()
            return 1
        print('disconnected: %s (wrote %d bytes)' %
              (getattr(exc, 'reason', exc), sent), flush=True)
        return 0

    if mode == 'steady':
        if lost.done():
            print('disconnected: %s (received %d)' % (lost.result(), got),
                  flush=True)
            return 1
        print('received %d' % got, flush=True)
        conn.close()
        return 0 if got == nbytes == sent else 1

    try:
        await barrier(conn)
    except (OSError, asyncssh.Error):
        pass
    if lost.done():
        print('disconnected: %s (wrote %d bytes)' % (lost.result(), sent),
              flush=True)
        return 1
    print('dropped %d' % sent, flush=True)
    conn.close()
    return 0 if sent == nbytes else 1


if __name__ == '__main__':
    if len(sys.argv) != 7 or sys.argv[1] not in MODES:
        usage()
    try:
        sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2],
                                  int(sys.argv[3]), sys.argv[4],
                                  sys.argv[5], int(sys.argv[6]))))
    except KeyboardInterrupt:
        sys.exit(2)
