"""The fast requantization table of the C conv/depthwise/fully-connected kernels (mcuq_rq in
firmware/kernels/mcuq_fixedpoint.h), per output channel, from TFLite Micro's (multiplier, shift)
and the layer's output offset and activation minimum.

Entry (MCUQ_RQ_WORDS int32): multiplier m, hi = 2^(e-2) + (output_offset - act_min) 2^(e-1),
rshift = e - 1, with e = -shift. mcuq_rq gives mcuq_mbqm(acc, m, shift) + output_offset - act_min
exactly when 2 <= e and |hi| <= 2^30 (the high word of the 64-bit sum stays in int32).

- a dead channel (multiplier 0, or a shift above 31 that makes every product 0 mod 2^32) gets
  m = 0 and e = 2: the result is the clamped offset, whatever the accumulator;
- any other channel outside that range (shift >= -1: a real multiplier >= 0.25; or a shift so
  negative that the folded offset leaves the range) is *exotic*: its entry is (0, 0, -1) and the
  kernels requantize it with TFLM's arithmetic (mcuq_mbqm and a wrapping offset addition) from
  the multiplier/shift arrays, channel by channel, while every other channel keeps the table.
"""
from __future__ import annotations

import numpy as np

from ..climits import c_limit, c_multiplier

#: Words per channel of the table (read from the header that defines the layout).
RQ_WORDS = c_limit("mcuq_fixedpoint.h", "MCUQ_RQ_WORDS")
HI_LIMIT = 1 << 30


def _channels(multiplier, shift, output_offset: int, act_min: int, dead_e: int):
    """Per channel of a requantization table: (m int64 (n,), e = -shift with dead channels
    (m = 0) at dead_e, offset - act_min, dead mask), from c_multiplier's C-side values."""
    m, s = c_multiplier(np.asarray(multiplier, np.int64).ravel(),
                        np.asarray(shift, np.int64).ravel())
    m = np.asarray(m, np.int64)
    dead = m == 0
    e = np.where(dead, dead_e, -np.asarray(s, np.int64))
    return m, e, int(output_offset) - int(act_min), dead


def rq_table(multiplier, shift, output_offset: int, act_min: int,
             pad_to: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(table int32 of RQ_WORDS * n_padded values, exotic mask (n,) bool); n_padded rounds the
    channel count up to a multiple of pad_to (padded entries are dead channels of offset 0)."""
    m, e_fast, off, _dead = _channels(multiplier, shift, output_offset, act_min, 2)
    ok_e = (e_fast >= 2) & (e_fast <= 31)
    safe_e = np.clip(e_fast, 2, 31)
    hi = (np.int64(1) << (safe_e - 2)) + off * (np.int64(1) << (safe_e - 1))
    fast = ok_e & (np.abs(hi) <= HI_LIMIT)
    exotic = ~fast
    n = m.size
    n_pad = -(-n // pad_to) * pad_to
    table = np.zeros((n_pad, RQ_WORDS), np.int64)
    table[:, 2] = 1
    table[:n, 0] = np.where(fast, m, 0)
    table[:n, 1] = np.where(fast, hi, 0)
    table[:n, 2] = np.where(fast, safe_e - 1, -1)
    return table.astype(np.int32).ravel(), exotic


def requant_paths(multiplier, shift, family: str, output_offset: int = 0,
                  act_min: int = -128, fast: bool = True) -> list[str]:
    """Coverage labels of the requantization parameters (the shift edges), and
    `<family>/requant:exotic` when a fast path requantizes some channels one by one."""
    m = np.asarray(multiplier, np.int64).ravel()
    s = np.asarray(shift, np.int64).ravel()
    live = m != 0
    labels = []
    if (~live).any():
        labels.append(f"{family}/requant:dead-channel")
    if (s[live] > 0).any():
        labels.append(f"{family}/requant:left-shift")
    if (s[live] == -31).any():
        labels.append(f"{family}/requant:shift-31")
    if ((s[live] == -1) | (s[live] == 0)).any():
        labels.append(f"{family}/requant:shift-1-or-0")
    if fast:
        _, exotic = rq_table(m, s, output_offset, act_min)
        if exotic.any():
            labels.append(f"{family}/requant:exotic")
            if not exotic.all():
                labels.append(f"{family}/requant:mixed")
    return labels


def generic_arrays(ctx, multiplier, shift, needed: bool) -> tuple[str, str]:
    """C names of the multiplier/shift arrays (TFLM's values; a shift above 31 becomes (0, 0))
    for the generic path and exotic channels, or ("0", "0") when nothing reads them."""
    if not needed:
        return "0", "0"
    m, s = c_multiplier(np.asarray(multiplier, np.int64).ravel(),
                        np.asarray(shift, np.int64).ravel())
    return (ctx.array("mult", np.asarray(m).astype(np.int32)),
            ctx.array("shift", np.asarray(s).astype(np.int32)))


#: mcuq_rqc (the packed conv): |ra| bound (the high word stays in int32) and accumulator bound
#: (the doubled accumulator stays in int32).
RA_LIMIT = (1 << 30) - 2
ACC_LIMIT = 1 << 30


def rqc_table(multiplier, shift, output_offset: int, act_min: int,
              acc_bound=None) -> tuple[np.ndarray, np.ndarray]:
    """The packed conv's table (mcuq_rqc in firmware/kernels/mcuq_fixedpoint.h): per channel
    multiplier m, ra = 2^(e-1) + (output_offset - act_min) 2^e, e = -shift; (table int32 of
    RQ_WORDS * n values, exotic mask (n,) bool). Fast when 1 <= e <= 31, |ra| <= RA_LIMIT and
    the channel's accumulator bound (|folded bias| + 128 * sum |w|, acc_bound (n,)) is below
    ACC_LIMIT; a dead channel (m = 0) is (0, 1 + 2 (offset - act_min), 1), whatever its
    accumulator. Any other channel is exotic: (0, 0, -1), requantized channel by channel with
    TFLM's arithmetic."""
    m, e_fast, off, dead = _channels(multiplier, shift, output_offset, act_min, 1)
    safe_e = np.clip(e_fast, 1, 31)
    ra = (np.int64(1) << (safe_e - 1)) + off * (np.int64(1) << safe_e)
    fast = (e_fast >= 1) & (e_fast <= 31) & (np.abs(ra) <= RA_LIMIT)
    if acc_bound is not None:
        fast &= dead | (np.asarray(acc_bound, np.int64) < ACC_LIMIT)
    table = np.zeros((m.size, RQ_WORDS), np.int64)
    table[:, 0] = np.where(fast, m, 0)
    table[:, 1] = np.where(fast, ra, 0)
    table[:, 2] = np.where(fast, safe_e, -1)
    return table.astype(np.int32).ravel(), ~fast
