"""A nameserver on 127.0.0.1 for the tests: it answers the names it was given (A records)
and never answers the others, as a dead or hostile nameserver does not.

    with Nameserver() as nameserver:
        nameserver.answer("mixed.test", "127.0.0.1", "127.0.0.2")
        settings.DNS_NAMESERVERS = [nameserver.address]
"""

import socket
import struct
import threading

A, AAAA = 1, 28
NO_ERROR_ANSWER = b"\x81\x80"  # a response, recursion desired and available, no error


class Nameserver:
    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def answer(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    def __enter__(self) -> "Nameserver":
        self.thread = threading.Thread(target=self.serve, name="test-nameserver", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                query, client = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            if reply := self.reply(query):
                self.sock.sendto(reply, client)

    def reply(self, query: bytes) -> bytes | None:
        name, end = read_name(query, 12)
        record_type = struct.unpack(">H", query[end : end + 2])[0]
        self.queries.append(name)
        if name not in self.answers:
            return None  # silence: the lookup can only time out
        question = query[12 : end + 4]
        records = [a for a in self.answers[name] if record_type == A] if record_type == A else []
        header = query[:2] + NO_ERROR_ANSWER + struct.pack(">HHHH", 1, len(records), 0, 0)
        body = b"".join(
            b"\xc0\x0c" + struct.pack(">HHIH", A, 1, 60, 4) + socket.inet_aton(address)
            for address in records
        )
        return header + question + body


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while length := message[offset]:
        labels.append(message[offset + 1 : offset + 1 + length].decode())
        offset += length + 1
    return ".".join(labels), offset + 1
