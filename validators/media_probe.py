"""The child side of the media check: MediaInfo on one open file, under hard limits.

MediaInfoLib is C++ that parses whatever an entrant uploads.  It copes well with the broken
and hostile files we tried, but a parser bug would take down (or hang, or bloat) whatever
process it runs in, so it runs here, in a short-lived child, never in the bot:

    python -I -S media_probe.py LIBRARY FD MEMORY_MIB CPU_S READ_MIB OUTPUT_MIB

``-I -S`` keeps start-up to the interpreter and ``ctypes`` (about 40 ms with the library load,
against about 120 ms for ``import pymediainfo``); so this module uses the standard library
only and imports nothing from the project.  The file arrives as an inherited descriptor, so
the child never opens a path (no "://" URL handling, no sibling-file probing), and it is fed
through MediaInfo's buffer API so that every byte MediaInfo sees is counted against a budget.

Exit status: 0 done; 4 read budget spent (the report is partial); 3 the library could not be
loaded (an operator problem, not the file's); 5 the report was larger than the output cap;
64 bad arguments.  Death by a signal (SIGSEGV, SIGABRT from ``std::bad_alloc`` under the
memory limit, SIGXCPU) is the parent's to interpret.  The XML report goes to stdout; one
line of JSON with byte and seek counts goes to stderr.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

EXIT_OK = 0
EXIT_SETUP = 3
EXIT_PARTIAL = 4
EXIT_OUTPUT = 5
EXIT_USAGE = 64

CHUNK = 1 << 16  # MediaInfo asks to seek often; small reads waste nothing on skipped data
MAX_SEEKS = 10_000  # a file that makes MediaInfo hop around this much is not a normal video
_NO_SEEK = (1 << 64) - 1  # MediaInfo_Open_Buffer_Continue_GoTo_Get: "no seek wanted"
_FINISHED = 0x08  # MediaInfo_Open_Buffer_Continue status bit: parsing is done


def apply_limits(memory_mib: int, cpu_s: int) -> None:
    """Cap this process: address space, CPU seconds, no files written, no core dumps."""
    try:
        import resource
    except ImportError:  # not POSIX: the parent's wall-clock timeout is the only bound
        return
    memory = memory_mib << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # Soft limit sends SIGXCPU; the hard limit one second later is SIGKILL for a process
    # stuck somewhere that ignores it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load(library: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(library)
    lib.MediaInfo_New.argtypes = []
    lib.MediaInfo_New.restype = ctypes.c_void_p
    lib.MediaInfo_Option.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.c_wchar_p]
    lib.MediaInfo_Option.restype = ctypes.c_wchar_p
    lib.MediaInfo_Inform.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.MediaInfo_Inform.restype = ctypes.c_wchar_p
    lib.MediaInfo_Open_Buffer_Init.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
    lib.MediaInfo_Open_Buffer_Init.restype = ctypes.c_size_t
    lib.MediaInfo_Open_Buffer_Continue.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.MediaInfo_Open_Buffer_Continue.restype = ctypes.c_size_t
    lib.MediaInfo_Open_Buffer_Continue_GoTo_Get.argtypes = [ctypes.c_void_p]
    lib.MediaInfo_Open_Buffer_Continue_GoTo_Get.restype = ctypes.c_uint64
    lib.MediaInfo_Open_Buffer_Finalize.argtypes = [ctypes.c_void_p]
    lib.MediaInfo_Open_Buffer_Finalize.restype = ctypes.c_size_t
    return lib


def inform(lib: ctypes.CDLL, fd: int, read_budget: int) -> tuple[str, dict[str, int | bool]]:
    """Feed the file on ``fd`` to MediaInfo, at most ``read_budget`` bytes; its OLDXML report."""
    handle = lib.MediaInfo_New()
    # The options pymediainfo uses for MediaInfo(xml) (OLDXML, Complete: IsTruncated is only
    # in the complete report), without cover art, which would be base64 in the output.
    for name, value in (
        ("CharSet", "UTF-8"),
        ("Inform", "OLDXML"),
        ("Complete", "1"),
        ("ParseSpeed", "0.5"),
        ("Cover_Data", ""),
    ):
        lib.MediaInfo_Option(handle, name, value)
    size = os.fstat(fd).st_size
    lib.MediaInfo_Open_Buffer_Init(handle, size, 0)
    position = read = seeks = 0
    partial = False
    while True:
        data = os.pread(fd, CHUNK, position)
        if not data:
            break
        read += len(data)
        position += len(data)
        if lib.MediaInfo_Open_Buffer_Continue(handle, data, len(data)) & _FINISHED:
            break
        goto = lib.MediaInfo_Open_Buffer_Continue_GoTo_Get(handle)
        if goto != _NO_SEEK:
            seeks += 1
            position = goto
            lib.MediaInfo_Open_Buffer_Init(handle, size, position)
        if read >= read_budget or seeks >= MAX_SEEKS:
            partial = True
            break
    lib.MediaInfo_Open_Buffer_Finalize(handle)
    report: str = lib.MediaInfo_Inform(handle, 0) or ""
    return report, {"read": read, "seeks": seeks, "partial": partial}


def main(argv: list[str]) -> int:
    try:
        library, fd_text, memory_mib, cpu_s, read_mib, output_mib = argv
        fd = int(fd_text)
        limits = int(memory_mib), int(cpu_s), int(read_mib) << 20, int(output_mib) << 20
    except ValueError:
        print(__doc__, file=sys.stderr)
        return EXIT_USAGE
    apply_limits(limits[0], limits[1])
    try:
        lib = _load(library)
    except OSError as exc:  # missing library, or the memory cap is too small to map it
        print(json.dumps({"error": f"cannot load MediaInfo from {library}: {exc}"}), file=sys.stderr)
        return EXIT_SETUP
    report, stats = inform(lib, fd, limits[2])
    data = report.encode("utf-8", "replace")
    print(json.dumps(stats), file=sys.stderr)
    if len(data) > limits[3]:
        return EXIT_OUTPUT
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return EXIT_PARTIAL if stats["partial"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
