"""woq.c.j2: `qnn.weight_only_dot`, the weights kept 4- or 8-bit and dequantized in registers.

The kernel vectorises across output columns, never along K, so every output keeps the exact
sequence of roundings `qdialect.qnn.weight_only` defines (`fmaf` per step, one scale per
block): tiles of TN = 32 columns (four AVX2 vectors, four independent FMA chains) walk K block
by block. One row (GEMV, memory bound) unpacks the weights straight into the chains; several
rows would re-unpack them per row, so a tile decodes KCH rows of K into floats `q - zp` (exact)
in a stack buffer and runs its rows, MC at most, over them RT rows × 16 columns at a time
(2·RT chains sharing two weight loads: 15 of the 16 vector registers at RT = 6). A last
block K stops inside runs its LAST rows only. Constant weights are packed once, at load,
still 4 or 8 bits a value:

- 4-bit: uint32 `[tile][k / 8][vector][lane]`, a lane holding the 8 consecutive k of its column
  (nibble j = row 8·(k/8) + j), so one 32-byte load feeds 8 steps of one vector by shift and mask;
- 8-bit: uint8 `[tile][k][32]`, widened 8 lanes at a time;
- zero points int32 and scales float `[tile][block][32]`.
Signed storage is moved to unsigned by adding 2^(bits-1) to values and zero points (the
difference `q - zp`, all the arithmetic sees, is unchanged). Padded columns compute zeros and
are not stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.c_text import CodegenError
from codegen.kernel import EmitContext, Kernel
from codegen.plan import shape_of
from qdialect import qnn
from qdialect.qnn.weight_only import block_params, k_block

TN = 32  # columns per tile
MC = 128  # rows per task when M > 1 (their chains and outputs: 2 x 16 KB of stack)
RT = 6  # rows per register tile when M > 1
KCH = 128  # rows of K decoded at a time when M > 1 (16 KB of floats, in L1)
PREFETCH = 512  # uint32s ahead (2 KB, 16 groups of 8 rows) in the 4-bit GEMV: a few % here


@dataclass(frozen=True)
class WoqSpec:
    M: int
    K: int
    N: int
    NT: int  # column tiles
    B: int  # rows per block
    BLOCKS: int
    LAST: int  # rows of the last block (K may stop inside it)
    BITS: int
    KP: int  # K padded to whole groups of 8 rows (4-bit)
    bias: bool
    MC: int  # rows per task
    RCHUNKS: int  # row tasks per tile
    RT: int
    KCH: int
    PREFETCH: int


def tiled(values: np.ndarray, nt: int) -> np.ndarray:
    """[rows, N] → [tile][rows][TN], columns past N zero."""
    rows, n = values.shape
    padded = np.zeros((rows, nt * TN), dtype=values.dtype)
    padded[:, :n] = values
    return np.ascontiguousarray(padded.reshape(rows, nt, TN).transpose(1, 0, 2))


def pack_weights(q: np.ndarray, bits: int, nt: int, kp: int) -> np.ndarray:
    """Unsigned stored values [K, N] in the kernel's layout (module doc)."""
    k, n = q.shape
    if bits == 8:
        return tiled(q.astype(np.uint8), nt)
    padded = np.zeros((kp, n), dtype=np.uint32)
    padded[:k] = q
    groups = padded.reshape(kp // 8, 8, n)
    shifts = (4 * np.arange(8, dtype=np.uint32))[None, :, None]
    lanes = (groups << shifts).sum(axis=1, dtype=np.uint32)  # [k/8, N]
    return tiled(lanes, nt)


def weight_only_dot(op: qnn.WeightOnlyDotOp, ctx: EmitContext) -> Kernel:
    m, k = shape_of(op.input)
    n = shape_of(op.result)[1]
    wq = op.weight.type.element_type  # type: ignore[union-attr]
    stored = ctx.plan.constant_data(op.weight)
    if stored is None:
        raise CodegenError("weight_only_dot compiles constant weights only")
    rows = shape_of(op.weight)[0]
    bits, block = wq.storage_width, k_block(wq, rows)
    blocks = rows // block
    if bits == 4 and blocks > 1 and block % 8:
        raise CodegenError(f"4-bit blocks of {block} rows are not compiled (multiples of 8 are)")
    nt = -(-n // TN)
    kp = -(-k // 8) * 8
    offset = 1 << (bits - 1) if wq.signed else 0
    mask = (1 << bits) - 1
    q = ((np.asarray(stored)[:k].astype(np.int64) + offset) & mask).astype(np.uint32)
    scales, zeros = block_params(wq, rows, n)
    mc = min(m, MC)
    spec = WoqSpec(
        m,
        k,
        n,
        nt,
        block,
        blocks,
        k - (blocks - 1) * block,
        bits,
        kp,
        op.bias is not None,
        mc,
        -(-m // mc),
        min(RT, m),
        KCH,
        PREFETCH,
    )
    plan = ctx.plan

    def table(array: np.ndarray, ctype: str) -> str:
        # the runtime hands constants over in the weight's storage dtype (bytes): a view
        raw = np.ascontiguousarray(array).view(np.uint8).ravel()
        return f"((const {ctype} *){plan.add_constant(op.weight, raw)})"

    args = [
        plan.expr(op.input),
        table(pack_weights(q, bits, nt, kp), "uint32_t" if bits == 4 else "uint8_t"),
        table(tiled((zeros + offset).astype(np.int32), nt), "int32_t"),
        table(tiled(scales.astype(np.float32), nt), "float"),
    ]
    if op.bias is not None:
        args.append(plan.expr(op.bias))
    args.append(plan.expr(op.result))
    return Kernel("woq.c.j2", spec, args)
