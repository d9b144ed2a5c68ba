"""QR codes for forms and receipts (segno: pure Python, no image library needed)."""

from __future__ import annotations

import functools
import io
from typing import Any

import numpy as np
import segno
from segno import consts, encoder, writers

#: The quiet zone around a QR code, in modules (the PDFs' and the DOCX's).
BORDER = 2
#: The ``src`` of a PDF's QR image: never fetched, WeasyPrint finds it among the images it is
#: given (:class:`QRDrawing`).
QR_SRC = "data:image/svg+xml,kepu-qr"
#: segno's writers are untyped: called through ``Any``.
_WRITERS: Any = writers


def qr_svg_uri(text: str) -> str:
    """An SVG ``data:`` URI of a QR code with a small quiet zone, sized by the page's CSS."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=1, border=BORDER))


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of a QR code with its quiet zone, for the DOCX: what ``segno.make(text, error="m",
    micro=False).save(buf, kind="png", ...)`` writes, its matrix from :func:`qr_matrix`
    (bench/README.md 'Receipts under 150 ms': 2.2 → 1.2 ms a DOCX's code)."""
    matrix = qr_matrix(text)
    buf = io.BytesIO()
    _WRITERS.save(matrix, (len(matrix[0]), len(matrix)), buf, "png", scale=scale, border=BORDER)
    return buf.getvalue()


# bench/README.md 'Documents at the deadline': WeasyPrint parsing the SVG of :func:`qr_svg_uri`
# (its path of ~1,000 segments, point by point) cost ~25 ms of every form and receipt.
class QRDrawing:
    """A QR code as a WeasyPrint image that writes its modules straight into the page: the
    very path WeasyPrint draws from the SVG of :func:`qr_svg_uri` (a line of stroke width 1
    through the middle of each run of dark modules, filled and stroked black, scaled from one
    unit a module to the image's box), without the SVG.  Given to WeasyPrint through its image cache under
    :data:`QR_SRC` (:func:`forms.pdf.html_to_pdf`)."""

    def __init__(self, text: str) -> None:
        self.matrix = qr_matrix(text)
        self.size = len(self.matrix) + 2 * BORDER  # modules, quiet zone included

    def get_intrinsic_size(self, image_resolution: float, font_size: float) -> tuple[float, float, float]:
        """As WeasyPrint's SVG image of ``width=size height=size``: ``size`` CSS pixels."""
        return self.size, self.size, 1.0

    def path(self) -> str:
        """The runs of dark modules as PDF path operators, one module a unit."""
        ops = []
        for y, row in enumerate(self.matrix, start=BORDER):
            x, width = 0, len(row)
            while x < width:
                if row[x]:
                    end = x + 1
                    while end < width and row[end]:
                        end += 1
                    ops.append(f"{x + BORDER} {y}.5 m {end + BORDER} {y}.5 l")
                    x = end
                x += 1
        return "\n".join(ops)

    def draw(self, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> None:
        """Called by WeasyPrint with the origin at the image box's top left corner."""
        stream.push_state()
        stream.transform(a=concrete_width / self.size, d=concrete_height / self.size)
        stream.set_color_rgb(0, 0, 0)
        stream.set_color_rgb(0, 0, 0, stroke=True)
        stream.set_line_width(1)
        stream.stream.append(self.path().encode())  # pydyf's own list of operators
        stream.fill_and_stroke()  # B, as WeasyPrint paints an SVG path (the fill is empty)
        stream.pop_state()


# --- segno's choice of mask, with numpy ----------------------------------------------------------
#
# bench/README.md 'Documents at the deadline': segno scores its eight masks in pure Python,
# ~17 ms of a receipt's ~600-character token.  The same scores (ISO/IEC 18004 7.8.3, as
# segno.encoder.mask_scores counts them) on numpy arrays, the same mask, the same symbol:
# tests/test_form_looks.py compares the matrices with segno's own for many texts.

_N3 = bytes((1, 0, 1, 1, 1, 0, 1))


def _masks(size: int) -> np.ndarray:
    """The eight QR data mask patterns (1 where the mask flips a module), shape (8, size, size)."""
    i, j = np.indices((size, size))
    return np.array(
        [
            (i + j) % 2 == 0,
            i % 2 == 0,
            j % 3 == 0,
            (i + j) % 3 == 0,
            (i // 2 + j // 3) % 2 == 0,
            (i * j) % 2 + (i * j) % 3 == 0,
            ((i * j) % 2 + (i * j) % 3) % 2 == 0,
            ((i + j) % 2 + (i * j) % 3) % 2 == 0,
        ],
        dtype=np.uint8,
    )


def _finder_like(seq: bytes, size: int) -> int:
    """N3 along one row or column, exactly as segno counts it (40 per pattern found)."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if (
            idx in (0, size - 7)
            or not any(seq[max(idx - 4, 0) : min(idx, size)])
            or not any(seq[max(offset, 0) : min(offset + 4, size)])
        ):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(_N3, offset)
    return count


def _scores(stack: np.ndarray) -> list[int]:
    """segno's penalty (N1 + N2 + N3 + N4) of each matrix of ``stack`` (shape (k, size, size)),
    all of them at once (bench/README.md 'Receipts under 150 ms': ~0.5 ms less a receipt's code)."""
    k, size, _ = stack.shape
    lines = np.concatenate([stack, stack.transpose(0, 2, 1)], axis=1).reshape(k * 2 * size, size)
    # N1: a run of n >= 5 modules of one colour in a row or column scores n - 2
    changes = np.ones((len(lines), size + 1), dtype=bool)
    changes[:, 1:size] = lines[:, 1:] != lines[:, :-1]
    rows, cols = np.nonzero(changes)
    same_line = np.diff(rows) == 0
    lengths, line_of = np.diff(cols)[same_line], rows[:-1][same_line]
    long = lengths >= 5
    n1 = np.bincount(line_of[long] // (2 * size), weights=lengths[long] - 2, minlength=k)
    # N2: 3 for every 2x2 block of one colour
    m = stack[:, 1:, 1:]
    blocks = (m == stack[:, 1:, :-1]) & (m == stack[:, :-1, 1:]) & (m == stack[:, :-1, :-1])
    n2 = 3 * blocks.sum(axis=(1, 2))
    # N3: 40 for every 1011101 with 4 light modules before or after it (or at an edge)
    width = size - 6
    found = np.ones((len(lines), width), dtype=bool)
    for t, bit in enumerate(_N3):
        found &= lines[:, t : t + width] == bit
    dark = np.zeros((len(lines), size + 1), dtype=np.int32)
    np.cumsum(lines, axis=1, out=dark[:, 1:])
    idx = np.arange(width)
    light_before = dark[:, idx] == dark[:, np.maximum(idx - 4, 0)]
    light_after = dark[:, np.minimum(idx + 11, size)] == dark[:, idx + 7]
    edge = (idx == 0) | (idx == size - 7)
    per_line = 40 * (found & (light_before | light_after | edge)).sum(axis=1)
    # Two patterns less than 7 apart: segno's search may step over the second: count its way.
    rows, cols = np.nonzero(found)
    for line in set(rows[:-1][(np.diff(rows) == 0) & (np.diff(cols) < 7)].tolist()):
        per_line[line] = _finder_like(lines[line].tobytes(), size)
    n3 = per_line.reshape(k, 2 * size).sum(axis=1)
    scores = []
    for n in range(k):
        percent = float(int(stack[n].sum())) / (size**2)
        n4 = 10 * int(abs(percent * 100 - 50) / 5)
        scores.append(int(n1[n]) + int(n2[n]) + int(n3[n]) + n4)
    return scores


# --- segno's symbol, its codewords and their placement with numpy --------------------------------
#
# bench/README.md 'Receipts under 150 ms': segno's Reed-Solomon (a pure-Python division per block),
# its bits one by one into the matrix and the mask applied module by module cost ~5 ms of a
# receipt's QR code.  The same codewords (the remainder is linear in the data: one precomputed
# table per shape of block), placed in the same order (found once per version), the same mask:
# tests/test_form_looks.py compares the matrices with segno's own for many texts.

#: segno's encoder functions and tables are untyped: used through ``Any``.
_SEGNO: Any = encoder
_CONSTS: Any = consts


@functools.cache
def _ec_table(num_data: int, num_ec: int) -> np.ndarray:
    """``table[k, v]``: the error codewords of a block of ``num_data`` data codewords, all 0 but
    ``v`` at ``k`` (segno's division, ISO/IEC 18004 7.5.2); a block's are the XOR of its bytes'."""
    log, exp = _CONSTS.GALIOS_LOG, _CONSTS.GALIOS_EXP
    gen = _CONSTS.GEN_POLY[num_ec]
    units = np.zeros((num_data, num_ec), dtype=np.int64)
    for k in range(num_data):
        block = bytearray(num_data + num_ec)
        block[k] = 1
        for i in range(k, num_data):
            coef = block[i]
            if coef:
                lcoef = log[coef]
                for n in range(num_ec):
                    block[i + n + 1] ^= exp[lcoef + gen[n]]
        units[k] = list(block[num_data:])
    exp_arr, log_arr = np.array(exp[:255], dtype=np.uint8), np.array(log, dtype=np.int64)
    values = np.arange(256)
    table = exp_arr[(log_arr[values][None, :, None] + log_arr[units][:, None, :]) % 255]
    table[:, 0, :] = 0
    table[np.broadcast_to((units == 0)[:, None, :], table.shape)] = 0
    return np.asarray(table, dtype=np.uint8)


@functools.cache
def _layout(version: int, error: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The symbol's function patterns (as segno's matrix before the data, format and version
    information 0), the data modules' rows and columns in segno's placement order
    (:func:`segno.encoder.add_codewords`), the order of the interleaved codewords
    (ISO/IEC 18004 7.6) and the eight masks over the data modules."""
    size = _SEGNO.calc_matrix_size(version)
    base = _SEGNO.make_matrix(size, size)
    _SEGNO.add_finder_patterns(base, size, size)
    _SEGNO.add_alignment_patterns(base, size, size)
    function = np.array(base, dtype=np.uint8)
    rows, cols = [], []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        upwards = (right & 2) == 0
        for vertical in range(size):
            for j in (right, right - 1):
                i = (size - 1 - vertical) if upwards ^ (j < 6) else vertical
                if base[i][j] == 2:
                    rows.append(i)
                    cols.append(j)
    # the codewords are the data blocks one after another, then the error blocks: the order
    # takes the first of every block, then the second, ... (zip_longest)
    data_idx: list[list[int]] = []
    ec_idx: list[list[int]] = []
    n_data = sum(ec.num_blocks * ec.num_data for ec in _CONSTS.ECC[version][error])
    d = e = 0
    for ec in _CONSTS.ECC[version][error]:
        for _ in range(ec.num_blocks):
            data_idx.append(list(range(d, d + ec.num_data)))
            ec_idx.append(list(range(n_data + e, n_data + e + ec.num_total - ec.num_data)))
            d += ec.num_data
            e += ec.num_total - ec.num_data
    order = [
        blk[i]
        for blocks in (data_idx, ec_idx)
        for i in range(max(map(len, blocks)))
        for blk in blocks
        if i < len(blk)
    ]
    data = function == 2
    return function, np.array(rows), np.array(cols), np.array(order), _masks(size) & data


def _codewords(version: int, error: int, data: np.ndarray) -> np.ndarray:
    """The data codewords followed by the error codewords of every block (not interleaved)."""
    out = [data]
    d = 0
    for ec in _CONSTS.ECC[version][error]:
        table = _ec_table(ec.num_data, ec.num_total - ec.num_data)
        blocks = data[d : d + ec.num_blocks * ec.num_data].reshape(ec.num_blocks, ec.num_data)
        out.append(np.bitwise_xor.reduce(table[np.arange(ec.num_data), blocks], axis=1).ravel())
        d += ec.num_blocks * ec.num_data
    return np.concatenate(out)


def qr_matrix(text: str) -> tuple[bytearray, ...]:
    """``segno.make(text, error="m", micro=False).matrix``: segno's bit stream (its segments,
    version, error level, padding), the rest with numpy."""
    segments = _SEGNO.prepare_data(text, None, None)
    version = _SEGNO.find_version(segments, _CONSTS.ERROR_LEVEL_M, eci=False, micro=False)
    error = _SEGNO.boost_error_level(version, _CONSTS.ERROR_LEVEL_M, segments, False, is_sa=False)
    buff = _SEGNO.Buffer()
    ver_range = _SEGNO.version_range(version)
    for segment in segments:
        _SEGNO.write_segment(buff, segment, None, ver_range, False)  # as segno's _encode does
    capacity = _CONSTS.SYMBOL_CAPACITY[version][error]
    _SEGNO.write_terminator(buff, capacity, None, len(buff))
    _SEGNO.write_padding_bits(buff, version, len(buff))
    _SEGNO.write_pad_codewords(buff, version, capacity, len(buff))
    function, rows, cols, order, masks = _layout(version, error)
    n_data = sum(ec.num_blocks * ec.num_data for ec in _CONSTS.ECC[version][error])
    data = np.packbits(np.frombuffer(bytes(buff.getbits()), dtype=np.uint8))[:n_data]
    bits = np.unpackbits(_codewords(version, error, data)[order])  # the remainder bits stay 0
    plain = function.copy()
    plain[rows, cols] = 0
    plain[rows[: len(bits)], cols[: len(bits)]] = bits
    scores = _scores(plain[None] ^ masks)
    best = scores.index(min(scores))  # the first of the lowest, as segno takes it
    matrix = tuple(bytearray(row) for row in (plain ^ masks[best]))
    _SEGNO.add_format_info(matrix, version, error, best)
    _SEGNO.add_version_info(matrix, version)
    return matrix
