/* Sizes of the kernels' stack buffers: in mcuq's firmware/kernels, the largest sizes the code
 * generator ever sends to them (the limits MCUQ_CONV_COL_MAX, MCUQ_DW_*_MAX and
 * MCUQ_FC_SCRATCH_MAX of conv.h and fully_connected.h); in a generated project, what its layers
 * need (mcuq/codegen/target_c.py: buffers_header), so that a model of small layers reserves no
 * stack for large ones. */
#ifndef MCUQ_BUFFERS_H
#define MCUQ_BUFFERS_H

#define MCUQ_CONV_COL_BUF 768   /* packed conv: largest k_padded */
#define MCUQ_CONV_RING_BUF 1024 /* packed conv mode 3: largest ring of padded input rows, bytes */
#define MCUQ_CONV_RING_KP_BUF 768 /* packed conv mode 3: largest k_padded */
#define MCUQ_TAPS_RING_BUF 1024 /* short-patch conv (conv_taps.c): largest ring of int16 rows, bytes */
#define MCUQ_DW_TAPS_BUF 96     /* depthwise fast paths: largest filter (k_h * k_w) */
#define MCUQ_DW_CH_BUF 512      /* depthwise mode 1: most channels */
#define MCUQ_DW_ROWS_BUF 2048   /* depthwise mode 2: largest ring of unpacked rows, bytes */
#define MCUQ_DW_PLANAR_BUF 2048 /* depthwise mode 3: its ring, bytes (4: no op takes mode 3, not built) */
#define MCUQ_FC_SCRATCH_BUF 2048 /* fully connected: largest unpacked input row, bytes */
#define MCUQ_CONV16_COL_BUF 1024 /* 16x8 conv/fully connected: largest k_pad (int16, 2 patches) */
#define MCUQ_DW16_TAPS_BUF 1024 /* 16x8 depthwise: largest filter (k_h * k_w), 8 bytes per tap */

#endif
