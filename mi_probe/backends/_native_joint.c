/*
 * mi_probe native joint critic: the one-hidden-layer critic
 *
 *     f(x, y) = w2 . relu(Wx x + bx + Wy y) + b2
 *
 * of the neural MI estimators (mi_probe/estimators/neural/critics.py, JointCritic),
 * scored on shifted pairs and trained with Adam, without the per-operation overhead
 * of an autograd framework and without materialising the (B, S, H) hidden
 * activations: each pair's hidden layer lives in registers and cache only.
 *
 * Pairs: a block of B rows r_0 .. r_{B-1} and S shifts s_0 .. s_{S-1} (s_0 = 0 gives
 * the positives); pair (i, t) is (x[r_i], y[r_{(i + s_t) mod B}]). Scores are laid
 * out (B, S) per block, row by row.
 *
 * Training objectives (maximised; P the positives, N the B*K negatives, K = S - 1,
 * LME the log-mean-exp over all negatives), matching mi_probe.estimators.neural.bounds:
 *   0 NWJ      mean P - exp(LME(N) - 1)
 *   1 MINE     mean P - exp(LME(N) - log_ma), log_ma a moving average of LME (no grad)
 *   2 DV       mean P - LME(N)
 *   3 JS       -mean softplus(-P) - mean softplus(N)
 *   4 InfoNCE  mean_i [P_i - logsumexp(P_i, N_i.)] + log(K + 1)
 * Adam follows torch.optim.Adam (no weight decay, no amsgrad) step for step.
 *
 * Plain C99, single-threaded, compiled together with _native_kdtree.c by
 * mi_probe/backends/_native.py; entry points return 0, or -1 when memory ran out.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define OBJ_NWJ 0
#define OBJ_MINE 1
#define OBJ_DV 2
#define OBJ_JS 3
#define OBJ_INFONCE 4

typedef struct {
    float *wx, *bx, *wy, *w2, *b2; /* (H, dx), (H), (H, dy), (H), (1) as torch stores them */
    int dx, dy, h;
} joint_t;

/* Hidden pre-activations of both sides for the B rows: a = Wx x + bx, c = Wy y. */
static void embed_rows(const joint_t *p, const float *x, const float *y, const int64_t *rows,
                       int b, const float *wxt, const float *wyt, float *a, float *c) {
    const int h = p->h;
    for (int i = 0; i < b; i++) {
        const float *xi = x + rows[i] * p->dx;
        const float *yi = y + rows[i] * p->dy;
        float *ai = a + (int64_t)i * h, *ci = c + (int64_t)i * h;
        memcpy(ai, p->bx, (size_t)h * sizeof(float));
        memset(ci, 0, (size_t)h * sizeof(float));
        for (int k = 0; k < p->dx; k++) {
            const float v = xi[k], *w = wxt + (int64_t)k * h;
            for (int u = 0; u < h; u++) ai[u] += v * w[u];
        }
        for (int k = 0; k < p->dy; k++) {
            const float v = yi[k], *w = wyt + (int64_t)k * h;
            for (int u = 0; u < h; u++) ci[u] += v * w[u];
        }
    }
}

static void transpose(const float *w, int rows, int cols, float *out) {
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++) out[(int64_t)k * rows + r] = w[(int64_t)r * cols + k];
}

static void block_scores(const joint_t *p, const float *a, const float *c, int b,
                         const int64_t *shifts, int s, float *out) {
    const int h = p->h;
    const float *w2 = p->w2, b2 = p->b2[0];
    for (int i = 0; i < b; i++) {
        const float *ai = a + (int64_t)i * h;
        for (int t = 0; t < s; t++) {
            const float *cj = c + ((i + shifts[t]) % b) * (int64_t)h;
            /* LANES independent partial sums: a float sum the compiler may not
               reorder would otherwise run one add at a time */
            float acc[LANES] = {0.0f};
            int u = 0;
            for (; u + LANES <= h; u += LANES)
                for (int l = 0; l < LANES; l++) {
                    const float z = ai[u + l] + cj[u + l];
                    acc[l] += w2[u + l] * (z > 0.0f ? z : 0.0f);
                }
            float total = b2;
            for (; u < h; u++) {
                const float z = ai[u] + cj[u];
                total += w2[u] * (z > 0.0f ? z : 0.0f);
            }
            for (int l = 0; l < LANES; l++) total += acc[l];
            out[(int64_t)i * s + t] = total;
        }
    }
}

/* Scores of n_blocks blocks of b rows, block q with its own shifts[q*s .. q*s+s). */
int mi_joint_scores(const float *wx, const float *bx, const float *wy, const float *w2,
                    const float *b2, int dx, int dy, int h, const float *x, const float *y,
                    const int64_t *rows, int64_t n_blocks, int b, const int64_t *shifts, int s,
                    float *out) {
    joint_t p = {(float *)wx, (float *)bx, (float *)wy, (float *)w2, (float *)b2, dx, dy, h};
    float *wxt = malloc((size_t)dx * h * sizeof(float));
    float *wyt = malloc((size_t)dy * h * sizeof(float));
    float *a = malloc((size_t)b * h * sizeof(float));
    float *c = malloc((size_t)b * h * sizeof(float));
    int rc = 0;
    if (!wxt || !wyt || !a || !c) {
        rc = -1;
        goto done;
    }
    transpose(wx, h, dx, wxt);
    transpose(wy, h, dy, wyt);
    for (int64_t q = 0; q < n_blocks; q++) {
        embed_rows(&p, x, y, rows + q * b, b, wxt, wyt, a, c);
        block_scores(&p, a, c, b, shifts + q * s, s, out + q * b * (int64_t)s);
    }
done:
    free(wxt);
    free(wyt);
    free(a);
    free(c);
    return rc;
}

static double softplus(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

static double sigmoid(double v) {
    if (v >= 0) return 1.0 / (1.0 + exp(-v));
    const double e = exp(v);
    return e / (1.0 + e);
}

/* The objective's value and its gradient g (B, S) with respect to the scores. */
static double objective(int kind, const float *sc, int b, int s, double ema_decay,
                        double *log_ma, int *have_ma, float *g) {
    const int k = s - 1;
    const double m = (double)b * k;
    double mean_pos = 0.0;
    for (int i = 0; i < b; i++) mean_pos += sc[(int64_t)i * s];
    mean_pos /= b;
    for (int i = 0; i < b; i++) g[(int64_t)i * s] = (float)(1.0 / b);
    if (kind == OBJ_JS) {
        double vp = 0.0, vn = 0.0;
        for (int i = 0; i < b; i++) {
            const float *row = sc + (int64_t)i * s;
            float *gr = g + (int64_t)i * s;
            vp += softplus(-(double)row[0]);
            gr[0] = (float)(sigmoid(-(double)row[0]) / b);
            for (int t = 1; t < s; t++) {
                vn += softplus(row[t]);
                gr[t] = (float)(-sigmoid(row[t]) / m);
            }
        }
        return -vp / b - vn / m;
    }
    if (kind == OBJ_INFONCE) {
        double v = 0.0;
        for (int i = 0; i < b; i++) {
            const float *row = sc + (int64_t)i * s;
            float *gr = g + (int64_t)i * s;
            double mx = row[0];
            for (int t = 1; t < s; t++) mx = row[t] > mx ? row[t] : mx;
            double z = 0.0;
            for (int t = 0; t < s; t++) z += exp(row[t] - mx);
            const double lse = mx + log(z);
            v += row[0] - lse;
            for (int t = 0; t < s; t++) gr[t] = (float)(((t == 0) - exp(row[t] - lse)) / b);
        }
        return v / b + log((double)s);
    }
    /* NWJ, MINE, DV: all through the log-mean-exp of the negatives */
    double mx = -INFINITY;
    for (int i = 0; i < b; i++)
        for (int t = 1; t < s; t++) {
            const double v = sc[(int64_t)i * s + t];
            mx = v > mx ? v : mx;
        }
    double z = 0.0;
    for (int i = 0; i < b; i++)
        for (int t = 1; t < s; t++) z += exp(sc[(int64_t)i * s + t] - mx);
    const double lme = mx + log(z) - log(m);
    double coef, value; /* d value / d neg = -coef * softmax(neg) */
    if (kind == OBJ_NWJ) {
        coef = exp(lme - 1.0);
        value = mean_pos - coef;
    } else if (kind == OBJ_MINE) {
        if (!*have_ma) {
            *log_ma = lme;
            *have_ma = 1;
        } else {
            const double u = *log_ma + log(ema_decay), w = lme + log1p(-ema_decay);
            const double hi = u > w ? u : w;
            *log_ma = hi + log(exp(u - hi) + exp(w - hi));
        }
        coef = exp(lme - *log_ma);
        value = mean_pos - coef;
    } else {
        coef = 1.0;
        value = mean_pos - lme;
    }
    for (int i = 0; i < b; i++)
        for (int t = 1; t < s; t++) {
            const int64_t e = (int64_t)i * s + t;
            g[e] = (float)(-coef * exp(sc[e] - mx) / z);
        }
    return value;
}

static void adam(float *p, float *grad, float *m, float *v, int64_t n, double lr, double beta1,
                 double beta2, double eps, int64_t step) {
    const double bc1 = 1.0 - pow(beta1, (double)step);
    const double bc2_sqrt = sqrt(1.0 - pow(beta2, (double)step));
    const float step_size = (float)(lr / bc1), b1 = (float)beta1, b2 = (float)beta2;
    const float inv_bc2 = (float)(1.0 / bc2_sqrt), fe = (float)eps;
    for (int64_t e = 0; e < n; e++) {
        const float gr = grad[e];
        m[e] = b1 * m[e] + (1.0f - b1) * gr;
        v[e] = b2 * v[e] + (1.0f - b2) * gr * gr;
        p[e] -= step_size * m[e] / (sqrtf(v[e]) * inv_bc2 + fe);
    }
}

/*
 * n_steps Adam steps. rows: (n_steps, b) training-row indices into x and y; shifts:
 * (n_steps, s), each row starting with 0. moments: first and second Adam moments,
 * each of n_params = h*dx + h + h*dy + h + 1 floats in the order wx, bx, wy, w2, b2.
 * adam_step: the optimiser's step count (in/out). log_ma/have_ma: MINE's moving
 * average (in/out). values: (n_steps) objective values before each step.
 */
int mi_joint_train(float *wx, float *bx, float *wy, float *w2, float *b2, int dx, int dy, int h,
                   float *moment1, float *moment2, int64_t *adam_step, const float *x,
                   const float *y, const int64_t *rows, const int64_t *shifts, int64_t n_steps,
                   int b, int s, int kind, double ema_decay, double *log_ma, int *have_ma,
                   double lr, double beta1, double beta2, double eps, double *values) {
    joint_t p = {wx, bx, wy, w2, b2, dx, dy, h};
    const int64_t n_wx = (int64_t)h * dx, n_wy = (int64_t)h * dy;
    const int64_t n_params = n_wx + h + n_wy + h + 1;
    float *grad = calloc((size_t)n_params, sizeof(float));
    float *wxt = malloc((size_t)dx * h * sizeof(float));
    float *wyt = malloc((size_t)dy * h * sizeof(float));
    float *a = malloc((size_t)b * h * sizeof(float));
    float *c = malloc((size_t)b * h * sizeof(float));
    float *da = malloc((size_t)b * h * sizeof(float));
    float *dc = malloc((size_t)b * h * sizeof(float));
    float *sc = malloc((size_t)b * s * sizeof(float));
    float *g = malloc((size_t)b * s * sizeof(float));
    float *gwxt = malloc((size_t)dx * h * sizeof(float));
    float *gwyt = malloc((size_t)dy * h * sizeof(float));
    int rc = 0;
    if (!grad || !wxt || !wyt || !a || !c || !da || !dc || !sc || !g || !gwxt || !gwyt) {
        rc = -1;
        goto done;
    }
    float *g_wx = grad, *g_bx = grad + n_wx, *g_wy = g_bx + h, *g_w2 = g_wy + n_wy;
    float *g_b2 = g_w2 + h;
    for (int64_t step = 0; step < n_steps; step++) {
        const int64_t *r = rows + step * b, *sh = shifts + step * s;
        transpose(wx, h, dx, wxt);
        transpose(wy, h, dy, wyt);
        embed_rows(&p, x, y, r, b, wxt, wyt, a, c);
        block_scores(&p, a, c, b, sh, s, sc);
        values[step] = objective(kind, sc, b, s, ema_decay, log_ma, have_ma, g);
        /* backward of the value (to maximise): d/dw2, d/db2, d/da, d/dc */
        memset(da, 0, (size_t)b * h * sizeof(float));
        memset(dc, 0, (size_t)b * h * sizeof(float));
        memset(g_w2, 0, (size_t)h * sizeof(float));
        float *restrict gw2 = g_w2;
        double gb2 = 0.0;
        for (int i = 0; i < b; i++) {
            const float *restrict ai = a + (int64_t)i * h;
            float *restrict dai = da + (int64_t)i * h;
            for (int t = 0; t < s; t++) {
                const float gt = g[(int64_t)i * s + t];
                const int64_t j = (i + sh[t]) % b;
                const float *restrict cj = c + j * h;
                float *restrict dcj = dc + j * h;
                gb2 += gt;
                for (int u = 0; u < h; u++) {
                    const float z = ai[u] + cj[u];
                    const float on = z > 0.0f ? 1.0f : 0.0f;
                    const float back = on * gt * w2[u];
                    gw2[u] += gt * (z * on);
                    dai[u] += back;
                    dcj[u] += back;
                }
            }
        }
        g_b2[0] = (float)gb2;
        memset(g_bx, 0, (size_t)h * sizeof(float));
        memset(gwxt, 0, (size_t)dx * h * sizeof(float));
        memset(gwyt, 0, (size_t)dy * h * sizeof(float));
        for (int i = 0; i < b; i++) {
            const float *xi = x + r[i] * dx, *yi = y + r[i] * dy;
            const float *dai = da + (int64_t)i * h, *dci = dc + (int64_t)i * h;
            for (int u = 0; u < h; u++) g_bx[u] += dai[u];
            for (int k = 0; k < dx; k++) {
                float *gw = gwxt + (int64_t)k * h;
                const float v = xi[k];
                for (int u = 0; u < h; u++) gw[u] += v * dai[u];
            }
            for (int k = 0; k < dy; k++) {
                float *gw = gwyt + (int64_t)k * h;
                const float v = yi[k];
                for (int u = 0; u < h; u++) gw[u] += v * dci[u];
            }
        }
        transpose(gwxt, dx, h, g_wx);
        transpose(gwyt, dy, h, g_wy);
        /* Adam minimises -value */
        for (int64_t e = 0; e < n_params; e++) grad[e] = -grad[e];
        *adam_step += 1;
        const int64_t st = *adam_step;
        float *m1 = moment1, *m2 = moment2;
        adam(wx, g_wx, m1, m2, n_wx, lr, beta1, beta2, eps, st);
        adam(bx, g_bx, m1 + n_wx, m2 + n_wx, h, lr, beta1, beta2, eps, st);
        adam(wy, g_wy, m1 + n_wx + h, m2 + n_wx + h, n_wy, lr, beta1, beta2, eps, st);
        adam(w2, g_w2, m1 + n_wx + h + n_wy, m2 + n_wx + h + n_wy, h, lr, beta1, beta2, eps, st);
        adam(b2, g_b2, m1 + n_params - 1, m2 + n_params - 1, 1, lr, beta1, beta2, eps, st);
    }
done:
    free(grad);
    free(wxt);
    free(wyt);
    free(a);
    free(c);
    free(da);
    free(dc);
    free(sc);
    free(g);
    free(gwxt);
    free(gwyt);
    return rc;
}
