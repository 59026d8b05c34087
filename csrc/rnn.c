// Recurrent layers as one fused op each: Keras 3's SimpleRNN, GRU (reset_after=True)
// and LSTM (keras/src/layers/rnn/{simple_rnn,gru,lstm}.py), weights in Keras's layout:
// kernel (IN, G), recurrent kernel (U, G), gate columns in Keras's order
//   LSTM  i, f, c, o:  c' = f * c + i * act(x_c + h W_c),  h' = o * act(c')
//   GRU   z, r, h:     hh = act(x_h + r * (h W_h + b_h)),   h' = z * h + (1 - z) * hh
//   SimpleRNN:         h' = act(x + h W)
// with i, f, o, z, r = ract(x_g + h W_g (+ b_g)), x = inp @ kernel + bias, zero initial
// states. The input projection of all T steps is one gemm; each step adds its recurrent
// gemm. Forward keeps every step's activated gates and states in the op's workspace;
// backward (through time, last step first) turns them into gate gradients in place
// and finishes with one gemm each for d(input) and d(kernel).
//
// Workspace (floats): Z (N, T, G) gates by input time, H (N, T, U) hidden states by
// step, S (N, T, U) cell states (LSTM) or h W_h + b_h (GRU) by step, dh and dc (N, U),
// rec (N, G) the GRU's recurrent gates. go_backwards reads input time T - 1 - s at
// step s; outputs are in step order, as Keras returns them. The LSTM also keeps act(c) by
// step, TC (N, T, U) at the workspace's end, so that backward does not compute it again.
//
// A mask (Keras's, keras/src/backend/torch/rnn.py) skips steps per sequence: a skipped
// step stores the previous states as its own, so its gates get no gradient and dh, dc
// pass through it unchanged to the step before.
//
// Dropout as Keras 3's cells (keras/src/layers/rnn/dropout_rnn_cell.py): in training, the
// inputs and the previous state h are multiplied by masks drawn once per sequence. With
// recurrent_dropout, Keras's LSTM and GRU switch to their implementation 1, one mask per
// gate for each (the GRU's h' = z * h + ... keeps the undropped h); otherwise one mask
// serves all gates. Dropped projections run one gemm per mask on a masked copy (xd).
// Their workspace follows the one above: xd (max(N * T * IN, N * U)), the input masks
// (M, N, IN) and the recurrent masks (M, N, U). Last, room for the recurrent kernel packed
// once per pass for the steps' products (rnn_gemm.c: sgemm would pack it at every step).
#include <math.h>
#include <string.h>

#include "blas.h"
#include "isa.h"
#include "ops.h"
#include "ptc.h"
#include "reduce.h"
#include "rnn_act.h"
#include "rng_mask.h"
#include "threads.h"

int ptc_rnn_act_ok(int kind) {
    return kind == PTC_ACT_LINEAR || kind == PTC_ACT_RELU || kind == PTC_ACT_SIGMOID || kind == PTC_ACT_TANH ||
           kind == PTC_ACT_HARD_SIGMOID;
}

void ptc_gemm_ref(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)(transa ? A[(int64_t)k * lda + m] : A[(int64_t)m * lda + k]) *
                       (transb ? B[(int64_t)n * ldb + k] : B[(int64_t)k * ldb + n]);
            float *c = C + (int64_t)m * ldc + n;
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

// Masks per kind of dropout: one per gate with recurrent dropout (LSTM, GRU), else one.
static int64_t rnn_n_masks(int cell, const ptc_rnn_shape *s) {
    return cell != PTC_CELL_SIMPLE && s->recurrent_dropout > 0.0f ? cell : 1;
}

static int64_t rnn_drop_size(int cell, const ptc_rnn_shape *s) {
    const int64_t N = s->N, M = rnn_n_masks(cell, s), xd = N * s->T * s->IN;
    if (s->dropout <= 0.0f && s->recurrent_dropout <= 0.0f) return 0;
    return (xd > N * s->U ? xd : N * s->U) + (s->dropout > 0.0f ? M * N * s->IN : 0) +
           (s->recurrent_dropout > 0.0f ? M * N * s->U : 0);
}

int64_t ptc_rnn_out_size(int cell, const ptc_rnn_shape *s) {
    const int64_t states = s->return_state ? (cell == PTC_CELL_LSTM ? 2 : 1) : 0;
    return (s->return_sequences ? s->T * s->U : s->U) + states * s->U;
}

// The recurrent kernel packed for the steps' products (rnn_gemm.c): (U, G) forward, its
// transpose (G, U) backward, one at a time.
static int64_t rnn_pack_size(int cell, const ptc_rnn_shape *s) {
    const int64_t a = ptc_rnn_packed_size(s->U, cell * s->U), b = ptc_rnn_packed_size(cell * s->U, s->U);
    return a > b ? a : b;
}

int64_t ptc_rnn_work_size(int cell, const ptc_rnn_shape *s) {
    const int64_t N = s->N, T = s->T, U = s->U, G = cell * U;
    return N * T * G + 2 * N * T * U + 2 * N * U + N * G + rnn_drop_size(cell, s) + rnn_pack_size(cell, s) +
           (cell == PTC_CELL_LSTM ? N * T * U : 0);
}

// One sample's gate math of one step (U units), shared by the generic path (any act,
// ract) and by kernels compiled per ISA for Keras's default tanh and sigmoid, where the
// constant kinds fold the switches away and the loops vectorize; both perform the same
// float operations, so they give the same bits. The arrays of one call never overlap.
// Each row runs one of two loops, with the previous state or with the zero initial one,
// so that no load sits under a condition (which would keep the loop scalar).
#define PTC_RNN_ROW(prev, ...)                                    \
    do {                                                          \
        if (prev)                                                 \
            for (int64_t j = 0; j < U; j++) __VA_ARGS__(prev[j]); \
        else                                                      \
            for (int64_t j = 0; j < U; j++) __VA_ARGS__(0.0f);    \
    } while (0)

// LSTM forward: zn (4U) pre-activations in, activated gates out; c = f * c_prev + i * g,
// h = o * act(c).
static PTC_ALWAYS_INLINE void lstm_forward_elem(int act, int ract, float *restrict zn, float *restrict cn,
                                                float *restrict hn, float *restrict tn, int64_t U, int64_t j,
                                                float cp) {
    const float i = act_f(ract, zn[j]), f = act_f(ract, zn[U + j]);
    const float g = act_f(act, zn[2 * U + j]), o = act_f(ract, zn[3 * U + j]);
    zn[j] = i, zn[U + j] = f, zn[2 * U + j] = g, zn[3 * U + j] = o;
    const float c = f * cp + i * g;
    cn[j] = c;
    tn[j] = act_f(act, c);
    hn[j] = o * tn[j];
}

static PTC_ALWAYS_INLINE void lstm_forward_row_body(int act, int ract, float *restrict zn, float *restrict cn,
                                                    float *restrict hn, float *restrict tn, const float *restrict cpn,
                                                    int64_t U) {
#define PTC_STEP(cp) lstm_forward_elem(act, ract, zn, cn, hn, tn, U, j, cp)
    PTC_RNN_ROW(cpn, PTC_STEP);
#undef PTC_STEP
}

// GRU forward: zn (3U) input projections, rn (3U) recurrent ones (h W + b_rec); cn keeps
// the candidate's recurrent part for backward.
static PTC_ALWAYS_INLINE void gru_forward_elem(int act, int ract, float *restrict zn, float *restrict cn,
                                               float *restrict hn, const float *restrict rn, int64_t U, int64_t j,
                                               float hp) {
    const float zz = act_f(ract, zn[j] + rn[j]), r = act_f(ract, zn[U + j] + rn[U + j]);
    const float hh = act_f(act, zn[2 * U + j] + r * rn[2 * U + j]);
    zn[j] = zz, zn[U + j] = r, zn[2 * U + j] = hh;
    cn[j] = rn[2 * U + j];
    hn[j] = zz * hp + (1.0f - zz) * hh;
}

static PTC_ALWAYS_INLINE void gru_forward_row_body(int act, int ract, float *restrict zn, float *restrict cn,
                                                   float *restrict hn, const float *restrict rn,
                                                   const float *restrict hpn, int64_t U) {
#define PTC_STEP(hp) gru_forward_elem(act, ract, zn, cn, hn, rn, U, j, hp)
    PTC_RNN_ROW(hpn, PTC_STEP);
#undef PTC_STEP
}

// LSTM backward: activated gates in zn become their pre-activation gradients; dc carries
// the cell state's gradient to the previous step.
static PTC_ALWAYS_INLINE void lstm_backward_elem(int act, int ract, float *restrict zn, const float *restrict dh,
                                                 float *restrict dc, const float *restrict tn, int64_t U, int64_t j,
                                                 float cp) {
    const float i = zn[j], f = zn[U + j], g = zn[2 * U + j], o = zn[3 * U + j];
    const float tc = tn[j];  // act(c), kept by forward
    const float dcj = dc[j] + dh[j] * o * act_d(act, tc);
    zn[j] = dcj * g * act_d(ract, i);
    zn[U + j] = dcj * cp * act_d(ract, f);
    zn[2 * U + j] = dcj * i * act_d(act, g);
    zn[3 * U + j] = dh[j] * tc * act_d(ract, o);
    dc[j] = dcj * f;
}

static PTC_ALWAYS_INLINE void lstm_backward_row_body(int act, int ract, float *restrict zn, const float *restrict dh,
                                                     float *restrict dc, const float *restrict tn,
                                                     const float *restrict cpn, int64_t U) {
#define PTC_STEP(cp) lstm_backward_elem(act, ract, zn, dh, dc, tn, U, j, cp)
    PTC_RNN_ROW(cpn, PTC_STEP);
#undef PTC_STEP
}

// GRU backward: gate gradients into zn, rec's gradient (its reset-scaled h part) into rn,
// and dh's direct share of the previous state.
static PTC_ALWAYS_INLINE void gru_backward_elem(int act, int ract, float *restrict zn, float *restrict rn,
                                                float *restrict dh, const float *restrict cn, int64_t U, int64_t j,
                                                float hp) {
    const float zz = zn[j], r = zn[U + j], hh = zn[2 * U + j];
    const float dzz = dh[j] * (hp - hh) * act_d(ract, zz);
    const float dhh = dh[j] * (1.0f - zz) * act_d(act, hh);
    const float dr = dhh * cn[j] * act_d(ract, r);
    zn[j] = rn[j] = dzz;
    zn[U + j] = rn[U + j] = dr;
    zn[2 * U + j] = dhh;
    rn[2 * U + j] = dhh * r;
    dh[j] *= zz;  // h' = z * h + ...: the direct path to the previous state
}

static PTC_ALWAYS_INLINE void gru_backward_row_body(int act, int ract, float *restrict zn, float *restrict rn,
                                                    float *restrict dh, const float *restrict cn,
                                                    const float *restrict hpn, int64_t U) {
#define PTC_STEP(hp) gru_backward_elem(act, ract, zn, rn, dh, cn, U, j, hp)
    PTC_RNN_ROW(hpn, PTC_STEP);
#undef PTC_STEP
}

PTC_KERNEL(static, lstm_forward_row_keras,
           (float *restrict zn, float *restrict cn, float *restrict hn, float *restrict tn, const float *restrict cpn,
            int64_t U),
           (zn, cn, hn, tn, cpn, U)) {
    lstm_forward_row_body(PTC_ACT_TANH, PTC_ACT_SIGMOID, zn, cn, hn, tn, cpn, U);
}
PTC_KERNEL(static, gru_forward_row_keras,
           (float *restrict zn, float *restrict cn, float *restrict hn, const float *restrict rn,
            const float *restrict hpn, int64_t U),
           (zn, cn, hn, rn, hpn, U)) {
    gru_forward_row_body(PTC_ACT_TANH, PTC_ACT_SIGMOID, zn, cn, hn, rn, hpn, U);
}
PTC_KERNEL(static, lstm_backward_row_keras,
           (float *restrict zn, const float *restrict dh, float *restrict dc, const float *restrict tn,
            const float *restrict cpn, int64_t U),
           (zn, dh, dc, tn, cpn, U)) {
    lstm_backward_row_body(PTC_ACT_TANH, PTC_ACT_SIGMOID, zn, dh, dc, tn, cpn, U);
}
PTC_KERNEL(static, gru_backward_row_keras,
           (float *restrict zn, float *restrict rn, float *restrict dh, const float *restrict cn,
            const float *restrict hpn, int64_t U),
           (zn, rn, dh, cn, hpn, U)) {
    gru_backward_row_body(PTC_ACT_TANH, PTC_ACT_SIGMOID, zn, rn, dh, cn, hpn, U);
}

static int keras_acts(const ptc_rnn_shape *s) {
    return s->act == PTC_ACT_TANH && s->ract == PTC_ACT_SIGMOID;
}

typedef struct {
    float *Z, *H, *S, *dh, *dc, *rec;
    float *TC;                 // the LSTM's act(c) by step (N, T, U), else NULL
    float *xd, *drop, *rdrop;  // dropout (NULL when off or not training)
    float *pack;               // the packed recurrent kernel's room
    const float *pk;           // the packed kernel the steps' products use, or NULL: s->gemm
    int64_t G, TG, TU, M;
} rnn_work;

static rnn_work rnn_split(int cell, float *work, const ptc_rnn_shape *s) {
    rnn_work w;
    const int64_t N = s->N, T = s->T, U = s->U;
    w.G = cell * U;
    w.TG = T * w.G;
    w.TU = T * U;
    w.M = rnn_n_masks(cell, s);
    w.Z = work;
    w.H = w.Z + N * w.TG;
    w.S = w.H + N * w.TU;
    w.dh = w.S + N * w.TU;
    w.dc = w.dh + N * U;
    w.rec = w.dc + N * U;
    w.xd = w.rec + N * w.G;
    const int64_t xd = N * T * s->IN > N * U ? N * T * s->IN : N * U;
    w.drop = s->training && s->dropout > 0.0f ? w.xd + xd : NULL;
    w.rdrop = s->training && s->recurrent_dropout > 0.0f ? w.xd + xd + (w.drop ? w.M * N * s->IN : 0) : NULL;
    w.pack = w.xd + rnn_drop_size(cell, s);
    w.TC = cell == PTC_CELL_LSTM ? w.pack + rnn_pack_size(cell, s) : NULL;
    w.pk = NULL;
    return w;
}

// dst[:, cols of mask g] += (src * mask g) @ W[:, cols of mask g] for the M masks (N, K), each
// over G / M columns; src has rows of K floats (stride lds), per rows per sample (the input's
// T steps, or 1 for the state).
typedef struct {
    int64_t rows, per, K, M, G;
    const float *masks;
    float *xd;
} rnn_dropped;

static void dropped_copy(const rnn_dropped *d, int64_t g, const float *src, int64_t lds) {
    const float *m = d->masks + g * (d->rows / d->per) * d->K;
    for (int64_t r = 0; r < d->rows; r++)
        for (int64_t k = 0; k < d->K; k++) d->xd[r * d->K + k] = src[r * lds + k] * m[(r / d->per) * d->K + k];
}

static void dropped_forward(const ptc_rnn_shape *s, const rnn_dropped *d, const float *src, int64_t lds, const float *W,
                            float *dst, int64_t ldd) {
    const int64_t cw = d->G / d->M;
    for (int64_t g = 0; g < d->M; g++) {
        dropped_copy(d, g, src, lds);
        s->gemm(0, 0, (int)d->rows, (int)cw, (int)d->K, 1.0f, d->xd, (int)d->K, W + g * cw, (int)d->G, 1.0f,
                dst + g * cw, (int)ldd);
    }
}

// Its gradients: dW += (src * mask)^T @ ddst, and, when dsrc, dsrc += (ddst @ W^T) * mask.
static void dropped_backward(const ptc_rnn_shape *s, const rnn_dropped *d, const float *src, int64_t lds,
                             const float *W, const float *ddst, int64_t ldd, float *dW, float *dsrc, int64_t ldsrc) {
    const int64_t cw = d->G / d->M;
    for (int64_t g = 0; g < d->M; g++) {
        dropped_copy(d, g, src, lds);
        s->gemm(1, 0, (int)d->K, (int)cw, (int)d->rows, 1.0f, d->xd, (int)d->K, ddst + g * cw, (int)ldd, 1.0f,
                dW + g * cw, (int)d->G);
        if (!dsrc) continue;
        s->gemm(0, 1, (int)d->rows, (int)d->K, (int)cw, 1.0f, ddst + g * cw, (int)ldd, W + g * cw, (int)d->G, 0.0f,
                d->xd, (int)d->K);
        const float *m = d->masks + g * (d->rows / d->per) * d->K;
        for (int64_t r = 0; r < d->rows; r++)
            for (int64_t k = 0; k < d->K; k++) dsrc[r * ldsrc + k] += d->xd[r * d->K + k] * m[(r / d->per) * d->K + k];
    }
}

static rnn_dropped input_dropped(const ptc_rnn_shape *s, const rnn_work *w) {
    const rnn_dropped d = {s->N * s->T, s->T, s->IN, w->M, w->G, w->drop, w->xd};
    return d;
}

static rnn_dropped state_dropped(const ptc_rnn_shape *s, const rnn_work *w) {
    const rnn_dropped d = {s->N, 1, s->U, w->M, w->G, w->rdrop, w->xd};
    return d;
}

// Whether the recurrent gemm of backward adds into dh (beta 1) rather than writing it.
static int dh_accumulates(int cell, const ptc_rnn_shape *s, const rnn_work *w) {
    return cell == PTC_CELL_GRU || s->mask || w->rdrop;
}

// Whether backward leaves d(recurrent kernel) to one gemm over every step after the loop:
// the gate gradients must stay in Z by step (not the GRU's rec, rewritten at each step),
// H and Z in the same time order (not go_backwards), and no per-step masked copy (dropout).
static int drk_batched(int cell, const ptc_rnn_shape *s, const rnn_work *w) {
    return cell != PTC_CELL_GRU && !s->go_backwards && !w->rdrop;
}

// A skipped step: its states are the previous ones (zeros before the first step).
static void rnn_carry(int cell, float *hn, float *cn, const float *hpn, const float *cpn, int64_t U) {
    if (hpn)
        memcpy(hn, hpn, (size_t)U * sizeof(float));
    else
        memset(hn, 0, (size_t)U * sizeof(float));
    if (cell != PTC_CELL_LSTM) return;  // the GRU's S row is not a state
    if (cpn)
        memcpy(cn, cpn, (size_t)U * sizeof(float));
    else
        memset(cn, 0, (size_t)U * sizeof(float));
}

// A step's recurrent product, dst (N, G) += hp (N, U) @ rkernel, and backward's dh (N, U)
// = (or += with accumulate) dsrc (N, G) @ rkernel^T: on the packed kernel when there is one.
static void rec_forward(const ptc_rnn_shape *s, const rnn_work *w, const float *hp, int64_t ps, const float *rkernel,
                        float *dst, int64_t ld) {
    if (w->pk)
        ptc_rnn_gemm_packed(s->N, w->G, s->U, hp, ps, w->pk, 1, dst, ld);
    else
        s->gemm(0, 0, (int)s->N, (int)w->G, (int)s->U, 1.0f, hp, (int)ps, rkernel, (int)w->G, 1.0f, dst, (int)ld);
}

static void rec_backward(const ptc_rnn_shape *s, const rnn_work *w, const float *dsrc, int64_t ld, const float *rkernel,
                         int accumulate) {
    if (w->pk)
        ptc_rnn_gemm_packed(s->N, s->U, w->G, dsrc, ld, w->pk, accumulate, w->dh, s->U);
    else
        s->gemm(0, 1, (int)s->N, (int)s->U, (int)w->G, 1.0f, dsrc, (int)ld, rkernel, (int)w->G,
                accumulate ? 1.0f : 0.0f, w->dh, (int)s->U);
}

// The forward recurrence (rbias: the GRU's recurrent bias or NULL).
static void rnn_forward_steps(int cell, const ptc_rnn_shape *s, const rnn_work *w, const float *rkernel,
                              const float *rbias) {
    const int64_t N = s->N, T = s->T, U = s->U, G = w->G, TG = w->TG, TU = w->TU;
    const rnn_dropped rd = state_dropped(s, w);
    for (int64_t st = 0; st < T; st++) {
        const int64_t t = s->go_backwards ? T - 1 - st : st;
        float *z = w->Z + t * G, *h = w->H + st * U, *c = w->S + st * U;
        // The previous states: rows n at n * ps, the initial ones (or none: zeros) before the first step.
        const float *hp = st > 0 ? h - U : s->h0, *cp = st > 0 ? c - U : s->c0;
        const int64_t ps = st > 0 ? TU : U;
        if (cell == PTC_CELL_GRU) {  // rec (N, G) = h W + b_rec: its h part is reset before it is added
            for (int64_t n = 0; n < N; n++)
                for (int64_t j = 0; j < G; j++) w->rec[n * G + j] = rbias ? rbias[j] : 0.0f;
            if (hp && w->rdrop)
                dropped_forward(s, &rd, hp, ps, rkernel, w->rec, G);
            else if (hp)
                rec_forward(s, w, hp, ps, rkernel, w->rec, G);
        } else if (hp && w->rdrop) {
            dropped_forward(s, &rd, hp, ps, rkernel, z, TG);
        } else if (hp) {
            rec_forward(s, w, hp, ps, rkernel, z, TG);
        }
        for (int64_t n = 0; n < N; n++) {
            float *zn = z + n * TG, *hn = h + n * TU, *cn = c + n * TU;
            float *tn = w->TC ? w->TC + n * TU + st * U : NULL;
            const float *hpn = hp ? hp + n * ps : NULL, *cpn = cp ? cp + n * ps : NULL;
            if (cell == PTC_CELL_SIMPLE) {
                for (int64_t j = 0; j < U; j++) hn[j] = act_f(s->act, zn[j]);
            } else if (cell == PTC_CELL_LSTM) {
                if (keras_acts(s))
                    lstm_forward_row_keras(zn, cn, hn, tn, cpn, U);
                else
                    lstm_forward_row_body(s->act, s->ract, zn, cn, hn, tn, cpn, U);
            } else {
                const float *rn = w->rec + n * G;
                if (keras_acts(s))
                    gru_forward_row_keras(zn, cn, hn, rn, hpn, U);
                else
                    gru_forward_row_body(s->act, s->ract, zn, cn, hn, rn, hpn, U);
            }
            if (s->mask && s->mask[n * T + t] == 0.0f) rnn_carry(cell, hn, cn, hpn, cpn, U);
        }
    }
}

static void rnn_step_backward(int cell, const ptc_rnn_shape *s, const rnn_work *w, int64_t st, float *z);

// The backward recurrence, last step first; drkernel NULL when its gemm is left for after.
static void rnn_backward_steps(int cell, const ptc_rnn_shape *s, const rnn_work *w, const float *dout,
                               const float *rkernel, float *drkernel, float *dbias) {
    const int64_t N = s->N, T = s->T, U = s->U, G = w->G, TG = w->TG, TU = w->TU;
    const int64_t OS = ptc_rnn_out_size(cell, s);  // floats per sample of dout
    for (int64_t st = T - 1; st >= 0; st--) {
        const int64_t t = s->go_backwards ? T - 1 - st : st;
        float *z = w->Z + t * G;
        for (int64_t n = 0; n < N; n++) {
            const float *g = s->return_sequences ? dout + n * OS + (s->input_order ? t : st) * U
                                                 : (st == T - 1 ? dout + n * OS : NULL);
            if (s->return_sequences && s->zero_masked && s->mask && s->mask[n * T + t] == 0.0f) g = NULL;
            if (g)
                for (int64_t j = 0; j < U; j++) w->dh[n * U + j] += g[j];
        }
        rnn_step_backward(cell, s, w, st, z);
        // The recurrent gemm's gradients: its source is z, or rec for the GRU.
        const float *dsrc = cell == PTC_CELL_GRU ? w->rec : z;
        const int ld = cell == PTC_CELL_GRU ? (int)G : (int)TG;
        if (cell == PTC_CELL_GRU && dbias) ptc_sum_rows(dbias + G, w->rec, N, G, G, 0);
        if (st == 0 && !s->h0) break;  // the zero initial state is a constant
        const float *hp = st > 0 ? w->H + (st - 1) * U : s->h0;
        const int64_t ps = st > 0 ? TU : U;
        if (w->rdrop) {
            const rnn_dropped rd = state_dropped(s, w);
            dropped_backward(s, &rd, hp, ps, rkernel, dsrc, ld, drkernel, w->dh, U);
            continue;
        }
        if (drkernel) s->gemm(1, 0, (int)U, (int)G, (int)N, 1.0f, hp, (int)ps, dsrc, ld, 1.0f, drkernel, (int)G);
        rec_backward(s, w, dsrc, ld, rkernel, dh_accumulates(cell, s, w));
    }
}

// The recurrences of samples [n0, n1) (independent sequences): the same steps over a view of
// those rows, so that the pool runs a whole pass in one region rather than two per step.
typedef struct {
    int cell, parts;
    const ptc_rnn_shape *s;
    const rnn_work *w;
    const float *rkernel, *rbias, *dout;  // dout NULL: forward
    float *drkernel, *dbias;
} rnn_pass;

static void rnn_rows(void *ctx, int64_t n0, int64_t n1, int part) {
    (void)part;
    const rnn_pass *p = ctx;
    ptc_rnn_shape s = *p->s;
    rnn_work w = *p->w;
    const int64_t U = s.U, G = w.G;
    s.N = n1 - n0;
    if (p->parts > 1) s.gemm = ptc_blas_sgemm_serial;  // the pool is this region's
    if (s.mask) s.mask += n0 * s.T;
    if (s.h0) s.h0 += n0 * U;  // initial states: rows n at n * U
    if (s.c0) s.c0 += n0 * U;
    w.Z += n0 * w.TG, w.H += n0 * w.TU, w.S += n0 * w.TU, w.dh += n0 * U, w.dc += n0 * U, w.rec += n0 * G;
    if (w.TC) w.TC += n0 * w.TU;
    if (!p->dout)
        rnn_forward_steps(p->cell, &s, &w, p->rkernel, p->rbias);
    else
        rnn_backward_steps(p->cell, &s, &w, p->dout + n0 * ptc_rnn_out_size(p->cell, &s), p->rkernel, p->drkernel,
                           p->dbias);
}

// Rows split only where no step writes a buffer the rows share: not under recurrent dropout
// (one masked copy), and in backward only with drkernel left for after (the GRU's dbias and
// drkernel sum over the rows at every step). BLAS's products inside then run one thread each.
#define PTC_RNN_ROW_GRAIN 8
static void rnn_steps(int cell, const ptc_rnn_shape *s, const rnn_work *w, const float *rkernel, const float *rbias,
                      const float *dout, float *drkernel, float *dbias) {
    rnn_work wp = *w;
    rnn_pass p = {cell, 1, s, &wp, rkernel, rbias, dout, drkernel, dbias};
    const int split = s->gemm == ptc_blas_sgemm && !w->rdrop && (!dout || (!drkernel && cell != PTC_CELL_GRU));
    const int64_t work = s->N * s->T * w->G * (s->U + 1), grain = split ? PTC_RNN_ROW_GRAIN : s->N + 1;
    p.parts = ptc_parallel_parts(s->N, grain, work);
    // The packed kernel (one thread per product) where the rows run in parts, or on one thread;
    // a single part at 2 threads keeps sgemm, which splits a large enough step's product.
    if (s->gemm == ptc_blas_sgemm && !w->rdrop && s->T > 1 && (p.parts > 1 || ptc_threads_get() == 1)) {
        ptc_rnn_pack(wp.pack, rkernel, dout ? w->G : s->U, dout ? s->U : w->G, dout != NULL);
        wp.pk = wp.pack;
    }
    ptc_parallel_for(s->N, grain, work, rnn_rows, &p);
}

void ptc_rnn_forward(int cell, float *out, float *work, const float *inp, const float *kernel, const float *rkernel,
                     const float *bias, const ptc_rnn_shape *s) {
    // out (N, U) or (N, T, U), inp (N, T, IN), kernel (IN, G), rkernel (U, G), bias (G,) or (2, G)
    const int64_t N = s->N, T = s->T, IN = s->IN, U = s->U;
    const rnn_work w = rnn_split(cell, work, s);
    const int64_t G = w.G, TG = w.TG, TU = w.TU;
    float beta = 0.0f;
    if (bias) {  // Z (N * T, G) = inp @ kernel + bias, the bias broadcast first
        ptc_parallel_broadcast(w.Z, bias, N * T, G, G);
        beta = 1.0f;
    }
    if (w.drop || w.rdrop) {
        const float keep = 1.0f - s->dropout, rkeep = 1.0f - s->recurrent_dropout;
        if (w.drop) ptc_rng_fill_mask(s->rng, w.drop, w.M * N * IN, keep, 1.0f / keep);
        if (w.rdrop) ptc_rng_fill_mask(s->rng, w.rdrop, w.M * N * U, rkeep, 1.0f / rkeep);
    }
    if (w.drop) {
        if (!bias) memset(w.Z, 0, (size_t)(N * TG) * sizeof(float));
        const rnn_dropped d = input_dropped(s, &w);
        dropped_forward(s, &d, inp, IN, kernel, w.Z, G);
    } else {
        s->gemm(0, 0, (int)(N * T), (int)G, (int)IN, 1.0f, inp, (int)IN, kernel, (int)G, beta, w.Z, (int)G);
    }
    rnn_steps(cell, s, &w, rkernel, cell == PTC_CELL_GRU && bias ? bias + G : NULL, NULL, NULL, NULL);
    const int64_t OS = ptc_rnn_out_size(cell, s);  // floats per sample of out
    if (s->return_sequences && (s->input_order || (s->zero_masked && s->mask))) {
        for (int64_t n = 0; n < N; n++)
            for (int64_t st = 0; st < T; st++) {
                const int64_t t = s->go_backwards ? T - 1 - st : st;
                float *o = out + n * OS + (s->input_order ? t : st) * U;
                if (s->zero_masked && s->mask && s->mask[n * T + t] == 0.0f)
                    memset(o, 0, (size_t)U * sizeof(float));
                else
                    memcpy(o, w.H + n * TU + st * U, (size_t)U * sizeof(float));
            }
    } else if (s->return_sequences && !s->return_state)
        memcpy(out, w.H, (size_t)(N * TU) * sizeof(float));
    else if (s->return_sequences)
        for (int64_t n = 0; n < N; n++) memcpy(out + n * OS, w.H + n * TU, (size_t)TU * sizeof(float));
    else
        for (int64_t n = 0; n < N; n++) memcpy(out + n * OS, w.H + n * TU + (T - 1) * U, (size_t)U * sizeof(float));
    if (!s->return_state) return;
    const int64_t main = s->return_sequences ? TU : U;  // the final states follow each sample's output
    for (int64_t n = 0; n < N; n++) {
        memcpy(out + n * OS + main, w.H + n * TU + (T - 1) * U, (size_t)U * sizeof(float));
        if (cell == PTC_CELL_LSTM)
            memcpy(out + n * OS + main + U, w.S + n * TU + (T - 1) * U, (size_t)U * sizeof(float));
    }
}

// One step's gate gradients from dh (and the LSTM's dc), written over its gates in z;
// for the GRU also rec's gradient (its reset-scaled h part) and dh's direct share.
// With a mask, a skipped step's gates get zeros and dh, dc are left to pass through; the
// other rows' dh is zeroed once used, as the recurrent gemm then adds into it (beta 1).
static void rnn_step_backward(int cell, const ptc_rnn_shape *s, const rnn_work *w, int64_t st, float *z) {
    const int64_t N = s->N, U = s->U, G = w->G, TG = w->TG, TU = w->TU;
    const int64_t t = s->go_backwards ? s->T - 1 - st : st;
    for (int64_t n = 0; n < N; n++) {
        float *zn = z + n * TG, *dh = w->dh + n * U, *dc = w->dc + n * U;
        if (s->mask && s->mask[n * s->T + t] == 0.0f) {
            memset(zn, 0, (size_t)G * sizeof(float));
            if (cell == PTC_CELL_GRU) memset(w->rec + n * G, 0, (size_t)G * sizeof(float));
            continue;
        }
        const float *hn = w->H + n * TU + st * U, *cn = w->S + n * TU + st * U;
        const float *hpn = st > 0 ? hn - U : (s->h0 ? s->h0 + n * U : NULL);
        const float *cpn = st > 0 ? cn - U : (s->c0 ? s->c0 + n * U : NULL);
        if (cell == PTC_CELL_SIMPLE) {
            for (int64_t j = 0; j < U; j++) zn[j] = dh[j] * act_d(s->act, hn[j]);
        } else if (cell == PTC_CELL_LSTM) {
            const float *tn = w->TC + n * TU + st * U;
            if (keras_acts(s))
                lstm_backward_row_keras(zn, dh, dc, tn, cpn, U);
            else
                lstm_backward_row_body(s->act, s->ract, zn, dh, dc, tn, cpn, U);
        } else {
            float *rn = w->rec + n * G;
            if (keras_acts(s))
                gru_backward_row_keras(zn, rn, dh, cn, hpn, U);
            else
                gru_backward_row_body(s->act, s->ract, zn, rn, dh, cn, hpn, U);
        }
        if (dh_accumulates(cell, s, w) && cell != PTC_CELL_GRU) memset(dh, 0, (size_t)U * sizeof(float));
    }
}

void ptc_rnn_backward(int cell, float *dinp, float *dkernel, float *drkernel, float *dbias, const float *dout,
                      const float *inp, const float *kernel, const float *rkernel, float *work,
                      const ptc_rnn_shape *s) {
    const int64_t N = s->N, T = s->T, IN = s->IN, U = s->U;
    const rnn_work w = rnn_split(cell, work, s);
    const int64_t G = w.G, TG = w.TG;
    const int64_t OS = ptc_rnn_out_size(cell, s), main = s->return_sequences ? w.TU : U;
    memset(w.dh, 0, (size_t)(2 * N * U) * sizeof(float));  // dh and dc
    if (s->return_state)                                   // the final states' gradients
        for (int64_t n = 0; n < N; n++)
            for (int64_t j = 0; j < U; j++) {
                w.dh[n * U + j] = dout[n * OS + main + j];
                if (cell == PTC_CELL_LSTM) w.dc[n * U + j] = dout[n * OS + main + U + j];
            }
    const int batched = drk_batched(cell, s, &w);
    rnn_steps(cell, s, &w, rkernel, NULL, dout, batched ? NULL : drkernel, dbias);
    if (s->h0) {  // dh and dc now hold the initial states' gradients
        for (int64_t k = 0; s->dh0 && k < N * U; k++) s->dh0[k] += w.dh[k];
        for (int64_t k = 0; s->c0 && s->dc0 && k < N * U; k++) s->dc0[k] += w.dc[k];
    }
    // Z now holds d(x projection) (N * T, G): one gemm for each of dkernel and dinp.
    if (w.drop) {
        const rnn_dropped d = input_dropped(s, &w);
        dropped_backward(s, &d, inp, IN, kernel, w.Z, G, dkernel, dinp, IN);
    } else {
        s->gemm(1, 0, (int)IN, (int)G, (int)(N * T), 1.0f, inp, (int)IN, w.Z, (int)G, 1.0f, dkernel, (int)G);
        if (dinp) s->gemm(0, 1, (int)(N * T), (int)IN, (int)G, 1.0f, w.Z, (int)G, kernel, (int)G, 1.0f, dinp, (int)IN);
    }
    if (dbias) ptc_sum_rows(dbias, w.Z, N * T, G, G, 0);
    if (batched && s->h0)  // the first steps' term, h0^T dz: before their rows are zeroed below
        s->gemm(1, 0, (int)U, (int)G, (int)N, 1.0f, s->h0, (int)U, w.Z, (int)TG, 1.0f, drkernel, (int)G);
    if (batched && T > 1) {
        // d(recurrent kernel) of all steps in one gemm (K = N * T - 1 rather than T gemms
        // of K = N): row r of H (sample n, step st) meets row r + 1 of Z (step st + 1's gate
        // gradients). The pairs that straddle two samples meet a first step's row, zeroed
        // first (Z is spent: dkernel, dinp and dbias have read it).
        for (int64_t n = 0; n < N; n++) memset(w.Z + n * TG, 0, (size_t)G * sizeof(float));
        s->gemm(1, 0, (int)U, (int)G, (int)(N * T - 1), 1.0f, w.H, (int)U, w.Z + G, (int)G, 1.0f, drkernel, (int)G);
    }
}
