"""QR codes as reportlab makes them, made faster: the same modules, module for module.

A code took a third of a statement's time: reportlab divides polynomials in pure Python for the error
correction, and lays out and scores each of the eight masks module by module. Here the error correction
is worked by log tables, and each version's layout is worked out once per process, so that a mask's
matrix is gathered in one step and scored on bytes and integers. The mask is chosen by reportlab's
penalty (including its quirks), the first of equals, so a code is the one reportlab would have drawn.
"""

import functools
import itertools
import operator

from reportlab.graphics.barcode import qrencoder

#: Ends each row of a gathered matrix, so no run or pattern is counted across two rows.
END = 2
#: The finder-like pattern reportlab's rule 3 looks for (only this way round, as reportlab does).
_FINDER = bytes(int(bit) for bit in "10111010000")
#: A code word as its eight modules, most significant bit first, one byte (0 or 1) each.
_BITS = [bytes((word >> shift) & 1 for shift in range(7, -1, -1)) for word in range(256)]
#: Antilogarithms in GF(256) twice over, so a sum of two logarithms needs no reduction.
_EXP = qrencoder.EXP_TABLE[:255] * 2
_LOG = qrencoder.LOG_TABLE


class FastMaskQRCode(qrencoder.QRCode):
    """reportlab's QR encoder, making the same code faster (see the module's docstring)."""

    def make(self):
        if self.version is None:
            self.version = self.calculate_version()
        layout = _layout(self.version)
        pattern, matrix = self._best_mask(layout)
        # The chosen mask's matrix as reportlab's makeImpl(False, pattern) leaves it: format and version written.
        count, stride = layout.count, layout.count + 1
        self.moduleCount = count
        self.modules = [list(map(bool, matrix[at : at + count])) for at in range(0, count * stride, stride)]
        self.setupTypeInfo(False, pattern)
        if self.version >= 7:
            self.setupTypeNumber(False)

    def getBestMaskPattern(self):  # noqa: N802 (reportlab's name)
        return self._best_mask(_layout(self.version))[0]

    def _best_mask(self, layout: "Layout") -> tuple[int, bytes]:
        """The mask reportlab would choose, and the matrix it makes as gathered (format and version left light)."""
        if self.dataCache is None:
            self.dataCache = code_words(self.version, self.errorCorrectLevel, self.dataList)
        size = len(layout.positions)
        bits = b"".join(_BITS[word] for word in self.dataCache)[:size].ljust(size, b"\0")
        data = int.from_bytes(bits, "big")
        best_lost, best = None, (0, b"")
        for pattern, mask in enumerate(layout.masks):
            matrix = bytes(layout.gather((data ^ mask).to_bytes(size, "big") + layout.fixed))
            lost = layout.lost_points(matrix)
            if best_lost is None or lost < best_lost:  # the first of equals, as reportlab picks
                best_lost, best = lost, (pattern, matrix)
        return best


class Layout:
    """One version's matrix as gathered for scoring masks: its rows of modules (0 or 1), each followed by END.

    The modules that are not data (finders, timing, alignment, and the format and version areas left light,
    as while masks are tried) are the same in every code of the version; data module k is bit k of the data.
    """

    def __init__(self, version: int) -> None:
        code = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
        code.makeImpl(True, 0)
        count = self.count = code.getModuleCount()
        self.positions = list(code.dataPosIterator())
        place = {(row, column): k for k, (column, row) in enumerate(self.positions)}
        cells = [(row, column) for row in range(count) for column in range(count)]
        fixed = [cell for cell in cells if cell not in place]
        self.fixed = bytes(int(code.modules[row][column]) for row, column in fixed) + bytes([END])
        fixed_at = {cell: len(place) + k for k, cell in enumerate(fixed)}
        end = len(place) + len(fixed)
        indices = []
        for row in range(count):
            indices += [place.get((row, column), fixed_at.get((row, column))) for column in range(count)]
            indices.append(end)
        #: From the placed data followed by `fixed`: the matrix, row by row.
        self.gather = operator.itemgetter(*indices)
        self.across = _modules_bits(count, [(row, column) for row, column in cells if column < count - 1])
        self.down = _modules_bits(count, [(row, column) for row, column in cells if row < count - 1])
        self.blocks = self.across & self.down
        #: Each mask's value at the data modules, in placing order, as one integer.
        self.masks = []
        for pattern in range(8):
            mask = qrencoder.QRUtil.getMask(pattern)
            self.masks.append(int.from_bytes(bytes(mask(row, column) for column, row in self.positions), "big"))

    def lost_points(self, matrix: bytes) -> int:
        """reportlab's QRUtil.getLostPoint of a gathered matrix."""
        stride = self.count + 1
        # Rule 1: a run of five or more alike, in a row or a column, costs its length less 2, that is its
        # windows of five alike (length less 4) and 2 more for its first.
        whole = int.from_bytes(matrix, "big")
        lost = 0
        for step, pairs in ((8, self.across), (8 * stride, self.down)):
            alike = ~(whole ^ (whole << step)) & pairs
            windows = alike & (alike << step) & (alike << 2 * step) & (alike << 3 * step)
            lost += windows.bit_count() + 2 * (windows & ~(alike >> step)).bit_count()
        # Rule 2: each 2×2 block of one colour costs 3.
        right, below, diagonal = whole << 8, whole << 8 * stride, whole << 8 * (stride + 1)
        alike = ~(whole ^ right) & ~(whole ^ below) & ~(whole ^ diagonal) & self.blocks
        lost += 3 * alike.bit_count()
        # Rule 3: the pattern costs 40 where it ends before a row's last module (reportlab's scan stops there),
        # in rows only: reportlab's column pass compares tuples with a list, so it never counts.
        lost += 40 * (matrix.count(_FINDER) - matrix.count(_FINDER + bytes([END])))
        # Rule 4: the dark share's distance from half, in steps of 5 %.
        dark = matrix.count(1)
        return lost + 10 * (abs(100 * dark // (self.count * self.count) - 50) // 5)


def _modules_bits(count: int, cells: list[tuple[int, int]]) -> int:
    """The lowest bit of these modules' bytes in a gathered matrix of count rows, read as a big-endian integer."""
    stride = count + 1
    matrix = bytearray(count * stride)
    for row, column in cells:
        matrix[row * stride + column] = 1
    return int.from_bytes(matrix, "big")


@functools.cache
def _layout(version: int) -> Layout:
    """A version's layout, worked out once per process."""
    return Layout(version)


def lost_points(modules: list[list[bool]]) -> int:
    """reportlab's QRUtil.getLostPoint of a module matrix."""
    layout = _layout((len(modules) - 17) // 4)
    return layout.lost_points(b"".join(bytes(row) + bytes([END]) for row in modules))


def code_words(version: int, level: int, data_list: list) -> list[int]:
    """The data and error correction words, interleaved, as reportlab's QRCode.createData makes them."""
    blocks = qrencoder.QRRSBlock.getRSBlocks(version, level)
    buffer = _BitBuffer()
    for data in data_list:
        data.write(buffer, version)
    room = sum(block.dataCount for block in blocks) * 8
    if buffer.getLengthInBits() > room:
        raise Exception(f"code length overflow. ({buffer.getLengthInBits()} > {room})")  # reportlab's error
    if buffer.getLengthInBits() + 4 <= room:
        buffer.put(0, 4)
    while buffer.getLengthInBits() % 8:
        buffer.putBit(False)
    words = buffer.buffer + list(itertools.islice(itertools.cycle((0xEC, 0x11)), room // 8 - len(buffer.buffer)))
    data_blocks, ec_blocks = [], []
    offset = 0
    for block in blocks:
        data_blocks.append(words[offset : offset + block.dataCount])
        offset += block.dataCount
        ec_blocks.append(_remainder(data_blocks[-1], block.totalCount - block.dataCount))
    return [
        word
        for blocks_ in (data_blocks, ec_blocks)
        for words_ in itertools.zip_longest(*blocks_)
        for word in words_
        if word is not None
    ]


@functools.cache
def _generator_logs(degree: int) -> tuple[int, ...]:
    """The logarithms of the Reed–Solomon generator polynomial's coefficients after the leading 1."""
    generator = qrencoder.QRUtil.getErrorCorrectPolynomial(degree)
    return tuple(_LOG[c] if c else -1 for c in generator.num[1:])


def _remainder(words: list[int], degree: int) -> list[int]:
    """The error correction words of a block: its words times x^degree, modulo the generator polynomial."""
    logs = _generator_logs(degree)
    if -1 in logs:  # never for QR's generators, whose coefficients are all nonzero; kept exact regardless
        return _slow_remainder(words, degree)
    remainder = [0] * degree
    for word in words:
        factor = word ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            shift = _LOG[factor]
            remainder = [r ^ _EXP[shift + g] for r, g in zip(remainder, logs, strict=True)]
    return remainder


def _slow_remainder(words: list[int], degree: int) -> list[int]:
    """reportlab's own division."""
    generator = qrencoder.QRUtil.getErrorCorrectPolynomial(degree)
    remainder = qrencoder.QRPolynomial(list(words), degree).mod(generator)
    return [remainder.get(i) if i >= 0 else 0 for i in range(remainder.getLength() - degree, remainder.getLength())]


class _BitBuffer:
    """What reportlab's QRBitBuffer does for the data's writers, with the bits kept in one integer."""

    def __init__(self) -> None:
        self.bits = 0
        self.length = 0

    def put(self, number: int, length: int) -> None:
        """Append number's lowest `length` bits, most significant first."""
        self.bits = (self.bits << length) | (number & ((1 << length) - 1))
        self.length += length

    def putBit(self, bit: bool) -> None:  # noqa: N802 (reportlab's name)
        """Append one bit."""
        self.put(int(bool(bit)), 1)

    def getLengthInBits(self) -> int:  # noqa: N802 (reportlab's name)
        """How many bits are in."""
        return self.length

    @property
    def buffer(self) -> list[int]:
        """The bits as bytes, the last one filled with zeros."""
        size = -(-self.length // 8)
        return list((self.bits << (size * 8 - self.length)).to_bytes(size, "big"))
