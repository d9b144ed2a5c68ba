"""An entrant's link fetched safely: range requests to checked addresses only.

The server fetches what an entrant typed, so every address is checked before it is used: the
host is resolved here, every address must pass the check (public only, unless told otherwise,
:func:`default_check`), the connection goes to the address that was checked (no second lookup
to rebind), each redirect is checked again the same way, and the bytes read are capped
(:class:`Fetcher`).  Used by the probe (:mod:`validators.probe`) and the download of a whole
video (:mod:`validators.download`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from validators.link_problems import Problem

MAX_REDIRECTS = 5
_MAX_REQUESTS = 8  # head, tail, and a few box headers in between
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host as written in the link, port, one address it resolved to) -> may we connect?
AddressCheck = Callable[[str, int, IPAddress], bool]

# ---- which addresses may be fetched ---------------------------------------------------------


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in ::ffff:a.b.c.d or a 6to4 address, which reaches it just the same."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour
    return None


def public_address(address: IPAddress) -> bool:
    """Globally routable unicast only: no private, loopback, link-local (169.254.169.254, the
    cloud metadata service), shared (100.64/10), multicast, reserved or unspecified address."""
    inner = _embedded_v4(address)
    if inner is not None and not public_address(inner):
        return False
    return address.is_global and not address.is_multicast


def default_check(allow_private: bool) -> AddressCheck:
    """The address policy from the settings: public only, or anything but multicast/unspecified."""

    def check(host: str, port: int, address: IPAddress) -> bool:
        del host, port
        if allow_private:
            return not (address.is_multicast or address.is_unspecified)
        return public_address(address)

    return check


# ---- fetching -----------------------------------------------------------------------------


@dataclass(slots=True)
class Response:
    status: int
    url: str
    headers: dict[str, str]
    start: int  # where ``data`` sits in the file
    data: bytes
    total: int | None  # the file's length, when the server said it
    complete: bool  # the body was read to its end


class Fetcher:
    """Range requests to checked addresses only, with redirects re-checked and a byte budget."""

    def __init__(
        self, session: aiohttp.ClientSession, check: AddressCheck, max_bytes: int, timeout: float
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.check = check
        self.budget = max_bytes
        self.fetched = 0
        self.requests = 0
        self.status: int | None = None

    async def addresses(self, url: URL) -> list[IPAddress]:
        host = url.raw_host or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found: list[IPAddress] = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            except (OSError, UnicodeError) as exc:
                raise Problem("dns_failed", host=url.host or host) from exc
            found = []
            for info in infos:
                # A scope ("fe80::1%eth0") is not part of the address being judged.
                address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
                if address not in found:
                    found.append(address)
        if not found:
            raise Problem("dns_failed", host=url.host or host)
        # Every address: a name may resolve to one public and one private address, and the
        # connection may go to either.
        refused = [a for a in found if not self.check(url.host or host, port, a)]
        if refused:
            raise Problem("refused_address", host=url.host or host, address=str(refused[0]))
        return found

    async def get(
        self, url: str, start: int, end: int | None, limit: int, *, first: bool = False
    ) -> Response:
        """GET ``url`` with ``Range: bytes=start-(end-1)``, following checked redirects, reading at
        most ``limit`` body bytes.  Only the ``first`` request reads the start of a body sent
        whole (a server that ignores Range); later ones read nothing from such a body."""
        current = URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            if self.requests >= _MAX_REQUESTS:
                raise Problem("bad_response", detail="请求次数过多")
            self.requests += 1
            result = await self._one(current, start, end, limit, first)
            if isinstance(result, URL):
                current = result
                continue
            return result
        raise Problem("too_many_redirects", max=MAX_REDIRECTS)

    async def _one(self, url: URL, start: int, end: int | None, limit: int, first: bool) -> Response | URL:
        addresses = await self.addresses(url)
        host = url.raw_host or ""
        host_header = host if url.explicit_port is None else f"{host}:{url.explicit_port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + host_header[len(host) :]
        headers = {
            "Range": f"bytes={start}-{'' if end is None else end - 1}",
            # Offsets must be the file's: no gzip between us and the bytes.
            "Accept-Encoding": "identity",
            "Host": host_header,
            "User-Agent": "KepuSubmit-LinkProbe/1.0",
        }
        last_error: Exception | None = None
        for address in addresses:
            # Connect to the address that was checked, so a second DNS answer cannot differ;
            # TLS still verifies the certificate against the host name (server_hostname).
            pinned = url.with_host(str(address))
            try:
                async with self.session.get(
                    pinned,
                    headers=headers,
                    allow_redirects=False,
                    auto_decompress=False,
                    server_hostname=host if url.scheme == "https" else None,
                ) as resp:
                    self.status = resp.status
                    if resp.status in _REDIRECTS:
                        return self._redirect(url, resp.headers.get("Location"))
                    return await self._read(url, resp, limit, first)
            except aiohttp.ClientConnectorError as exc:
                last_error = exc
                continue  # the next address of the same name, as a browser would
            except TimeoutError as exc:  # the session's own timeout, shorter than ours
                raise Problem("timeout", timeout=self.timeout) from exc
            except aiohttp.ClientPayloadError as exc:
                raise Problem("bad_response", detail=f"传输中断：{_short(exc)}") from exc
            except aiohttp.ClientError as exc:
                raise Problem("connect_failed", host=url.host or host, error=_short(exc)) from exc
        raise Problem("connect_failed", host=url.host or host, error=_short(last_error))

    def _redirect(self, url: URL, location: str | None) -> URL:
        if not location:
            raise Problem("bad_redirect", location="（空）")
        try:
            target = url.join(URL(location))
        except ValueError as exc:
            raise Problem("bad_redirect", location=location[:80]) from exc
        if target.scheme not in {"http", "https"} or not target.raw_host or target.user or target.password:
            raise Problem("bad_redirect", location=location[:80])
        return target

    async def _read(self, url: URL, resp: aiohttp.ClientResponse, limit: int, first: bool) -> Response:
        status = resp.status
        total: int | None = None
        data_start = 0
        left = self.budget - self.fetched
        want = 0
        if status == 206:
            data_start, total = _content_range(resp.headers.get("Content-Range", ""))
            want = min(limit, left)
        elif status == 200:
            length = resp.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            if total is not None and total <= left:
                want = total  # a small file sent whole: take all of it
            elif first:
                want = min(limit, left)
        encoding = resp.headers.get("Content-Encoding", "identity").lower()
        if want and encoding not in {"", "identity"}:
            raise Problem("bad_response", detail=f"Content-Encoding: {encoding}")
        body = bytearray()
        complete = False
        while len(body) < want:
            chunk = await resp.content.read(min(_CHUNK, want - len(body)))
            if not chunk:
                complete = True
                break
            body += chunk
            self.fetched += len(chunk)
        complete = complete or (total is not None and data_start == 0 and len(body) == total)
        if not resp.content.at_eof():
            # Stop here: closing drops the connection instead of draining the rest of a
            # body that may be the whole file (a server that ignores Range).
            resp.close()
        return Response(
            status=status,
            url=str(url),
            headers=dict(resp.headers),
            start=data_start,
            data=bytes(body),
            total=total,
            complete=complete,
        )


def url_problem(url: str) -> bool:
    """Not an http(s) address we would fetch.  Entrants' text goes through parse_video_link
    first; this guards the probe itself (e.g. a single-label name is fine here: the address
    check decides)."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        return True
    try:
        parsed = URL(url)
    except ValueError:
        return True
    if parsed.scheme not in {"http", "https"} or not parsed.raw_host:
        return True
    return bool(parsed.user or parsed.password)  # "https://pan.baidu.com@evil.example/" disguises a host


def _content_range(value: str) -> tuple[int, int | None]:
    """``bytes 0-99/1234`` -> (0, 1234); an unknown length (``/*``) is None."""
    try:
        unit, _, rest = value.strip().partition(" ")
        span, _, length = rest.partition("/")
        first = span.split("-")[0]
        if unit.lower() != "bytes" or not first.isdigit():
            raise ValueError(value)
        return int(first), int(length) if length.isdigit() else None
    except ValueError:
        raise Problem("bad_response", detail=f"Content-Range: {value[:60]}") from None


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "未知错误"
    text = str(exc) or type(exc).__name__
    return text[:120]
