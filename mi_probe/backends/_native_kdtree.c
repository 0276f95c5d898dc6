/*
 * mi_probe native kd-tree: k nearest neighbours and neighbour counts of every point
 * of a data set among the others, in the max-norm or the Euclidean metric.
 *
 * Plain C99 with POSIX threads (no C++ runtime, no OpenMP runtime: nothing that could
 * clash with the libraries torch has already loaded). Compiled on first use by
 * mi_probe/backends/_native.py and loaded with ctypes; every entry point returns 0 on
 * success and a negative number when memory ran out.
 *
 * The tree: sliding-midpoint splits on the widest side (a median split when that
 * leaves fewer than 1/16 of the points on one side, so the depth stays O(log n)),
 * tight bounding boxes on every node, and the points copied into leaf order so that
 * a node's points are contiguous. Queries run in leaf order (neighbouring queries walk
 * the same nodes, which stay in cache) and write their answers back by input index.
 *
 * Exactness: box distances are computed from coordinates of points inside the box,
 * and rounding is monotone, so "the whole box lies within r" implies every point in it
 * does under the same floating-point predicate; counts equal a brute-force count.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define METRIC_MAX 0
#define METRIC_L2 1
#define BLOCK 256

typedef struct {
    int64_t start, end; /* points [start, end) in leaf order */
    int64_t left, right; /* children; -1 on a leaf */
} node_t;

typedef struct {
    int64_t n;
    int d;
    int leafsize;
    double *pts; /* n * d, leaf order */
    double *cols; /* d * n, the same points column by column (vectorised leaf scans) */
    int64_t *perm; /* leaf position -> input row */
    node_t *nodes;
    double *lo, *hi; /* n_nodes * d bounding boxes */
    int64_t n_nodes, cap;
    int failed;
} tree_t;

static int64_t new_node(tree_t *t) {
    if (t->n_nodes == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        node_t *nodes = realloc(t->nodes, (size_t)cap * sizeof(node_t));
        if (!nodes) { t->failed = 1; return -1; }
        t->nodes = nodes;
        double *lo = realloc(t->lo, (size_t)cap * t->d * sizeof(double));
        if (!lo) { t->failed = 1; return -1; }
        t->lo = lo;
        double *hi = realloc(t->hi, (size_t)cap * t->d * sizeof(double));
        if (!hi) { t->failed = 1; return -1; }
        t->hi = hi;
        t->cap = cap;
    }
    return t->n_nodes++;
}

static void swap_rows(tree_t *t, int64_t a, int64_t b) {
    const int d = t->d;
    double *pa = t->pts + a * d, *pb = t->pts + b * d;
    for (int j = 0; j < d; j++) { double v = pa[j]; pa[j] = pb[j]; pb[j] = v; }
    int64_t p = t->perm[a]; t->perm[a] = t->perm[b]; t->perm[b] = p;
}

/* Rows with coordinate sd < split first; returns the first row of the second part. */
static int64_t partition_at(tree_t *t, int64_t start, int64_t end, int sd, double split) {
    const int d = t->d;
    int64_t i = start, j = end - 1;
    while (i <= j) {
        if (t->pts[i * d + sd] < split) { i++; }
        else { swap_rows(t, i, j); j--; }
    }
    return i;
}

/* Reorder rows so that row m holds the m-th smallest coordinate sd (quickselect with a
 * three-way partition, so that many equal values cost O(n), not O(n^2)). */
static void select_rows(tree_t *t, int64_t start, int64_t end, int64_t m, int sd) {
    const int d = t->d;
    int64_t lo = start, hi = end - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        double a = t->pts[lo * d + sd], b = t->pts[mid * d + sd], c = t->pts[hi * d + sd];
        double pv = (a < b) ? ((b < c) ? b : ((a < c) ? c : a))
                            : ((a < c) ? a : ((b < c) ? c : b)); /* median of three */
        int64_t lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            double v = t->pts[i * d + sd];
            if (v < pv) { swap_rows(t, lt, i); lt++; i++; }
            else if (v > pv) { swap_rows(t, i, gt); gt--; }
            else i++;
        }
        /* [lo, lt) < pv, [lt, gt] == pv, (gt, hi] > pv */
        if (m < lt) hi = lt - 1;
        else if (m > gt) lo = gt + 1;
        else return;
    }
}

static int64_t build(tree_t *t, int64_t start, int64_t end) {
    const int d = t->d;
    int64_t id = new_node(t);
    if (id < 0) return -1;
    double *lo = t->lo + id * d, *hi = t->hi + id * d;
    for (int j = 0; j < d; j++) { lo[j] = INFINITY; hi[j] = -INFINITY; }
    for (int64_t i = start; i < end; i++) {
        const double *p = t->pts + i * d;
        for (int j = 0; j < d; j++) {
            if (p[j] < lo[j]) lo[j] = p[j];
            if (p[j] > hi[j]) hi[j] = p[j];
        }
    }
    t->nodes[id].start = start; t->nodes[id].end = end;
    t->nodes[id].left = -1; t->nodes[id].right = -1;
    if (end - start <= t->leafsize) return id;
    int sd = 0;
    double width = -1.0;
    for (int j = 0; j < d; j++) {
        if (hi[j] - lo[j] > width) { width = hi[j] - lo[j]; sd = j; }
    }
    if (!(width > 0.0)) return id; /* all points equal: one leaf */
    double split = 0.5 * (lo[sd] + hi[sd]);
    int64_t m = partition_at(t, start, end, sd, split);
    int64_t min_side = (end - start) / 16;
    if (m - start < min_side + 1 || end - m < min_side + 1) {
        m = start + (end - start) / 2;
        select_rows(t, start, end, m, sd);
    }
    int64_t left = build(t, start, m);
    if (left < 0) return -1;
    int64_t right = build(t, m, end);
    if (right < 0) return -1;
    t->nodes[id].left = left; /* t->nodes may have moved: index, never pointer */
    t->nodes[id].right = right;
    return id;
}

static void free_tree(tree_t *t) {
    free(t->pts); free(t->cols); free(t->perm); free(t->nodes); free(t->lo); free(t->hi);
}

static int make_tree(tree_t *t, const double *pts, int64_t n, int d, int leafsize) {
    memset(t, 0, sizeof(*t));
    t->n = n; t->d = d; t->leafsize = leafsize < 1 ? 1 : leafsize;
    t->pts = malloc((size_t)n * d * sizeof(double));
    t->perm = malloc((size_t)n * sizeof(int64_t));
    if (!t->pts || !t->perm) { free_tree(t); return -1; }
    memcpy(t->pts, pts, (size_t)n * d * sizeof(double));
    for (int64_t i = 0; i < n; i++) t->perm[i] = i;
    if (build(t, 0, n) < 0 || t->failed) { free_tree(t); return -1; }
    t->cols = malloc((size_t)n * d * sizeof(double));
    if (!t->cols) { free_tree(t); return -1; }
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) t->cols[(int64_t)j * n + i] = t->pts[i * d + j];
    return 0;
}

/* ---- distances (L2 works with squared distances until the end) ---- */

/* Distance from q to the nearest point (far = 0) or the farthest corner (far = 1) of a
 * node's box. */
static inline double box_dist(const tree_t *t, int64_t id, const double *q, int metric,
                              int far) {
    const int d = t->d;
    const double *lo = t->lo + id * d, *hi = t->hi + id * d;
    double acc = 0.0;
    for (int j = 0; j < d; j++) {
        double below = far ? q[j] - lo[j] : lo[j] - q[j];
        double above = far ? hi[j] - q[j] : q[j] - hi[j];
        double g = above > below ? above : below;
        if (g > 0.0) {
            if (metric == METRIC_MAX) { if (g > acc) acc = g; }
            else acc += g * g;
        }
    }
    return acc;
}

/* Distances (reduced: squared for L2) from q to the points [s, s + len) of the tree,
 * len <= CHUNK, dimension by dimension so that the compiler vectorises across points. */
#define CHUNK 64
static inline void scan_dist(const tree_t *t, int64_t s, int64_t len, const double *q,
                             int metric, double *m) {
    const int64_t n = t->n;
    for (int64_t o = 0; o < len; o++) m[o] = 0.0;
    for (int j = 0; j < t->d; j++) {
        const double qj = q[j];
        const double *col = t->cols + (int64_t)j * n + s;
        if (metric == METRIC_MAX) {
            for (int64_t o = 0; o < len; o++) {
                double g = fabs(qj - col[o]);
                m[o] = g > m[o] ? g : m[o];
            }
        } else {
            for (int64_t o = 0; o < len; o++) {
                double g = qj - col[o];
                m[o] += g * g;
            }
        }
    }
}

static inline int64_t leaf_count(const tree_t *t, int64_t s, int64_t e, const double *q,
                                 double r, int metric) {
    double m[CHUNK];
    int64_t c = 0;
    for (int64_t b = s; b < e; b += CHUNK) {
        int64_t len = e - b < CHUNK ? e - b : CHUNK;
        scan_dist(t, b, len, q, metric, m);
        for (int64_t o = 0; o < len; o++) c += m[o] <= r;
    }
    return c;
}

/* ---- k nearest neighbours ---- */

typedef struct {
    int k;
    double *bd; /* k best (reduced) distances, ascending */
    int64_t *bi; /* their leaf positions */
} heap_t;

static inline void offer(heap_t *h, double dist, int64_t pos) {
    int k = h->k;
    if (!(dist < h->bd[k - 1])) return;
    int i = k - 1;
    while (i > 0 && h->bd[i - 1] > dist) {
        h->bd[i] = h->bd[i - 1]; h->bi[i] = h->bi[i - 1]; i--;
    }
    h->bd[i] = dist; h->bi[i] = pos;
}

static void knn_rec(const tree_t *t, int64_t id, const double *q, int64_t qpos, heap_t *h,
                    int metric) {
    const node_t *nd = t->nodes + id;
    if (nd->left < 0) {
        double m[CHUNK];
        for (int64_t b = nd->start; b < nd->end; b += CHUNK) {
            int64_t len = nd->end - b < CHUNK ? nd->end - b : CHUNK;
            scan_dist(t, b, len, q, metric, m);
            for (int64_t o = 0; o < len; o++) {
                if (m[o] < h->bd[h->k - 1] && b + o != qpos) offer(h, m[o], b + o);
            }
        }
        return;
    }
    double dl = box_dist(t, nd->left, q, metric, 0);
    double dr = box_dist(t, nd->right, q, metric, 0);
    int64_t first = nd->left, second = nd->right;
    if (dr < dl) { double s = dl; dl = dr; dr = s; first = nd->right; second = nd->left; }
    if (dl < h->bd[h->k - 1]) knn_rec(t, first, q, qpos, h, metric);
    if (dr < h->bd[h->k - 1]) knn_rec(t, second, q, qpos, h, metric);
}

/* ---- counts ---- */

static int64_t count_rec(const tree_t *t, int64_t id, const double *q, double r, int metric) {
    if (box_dist(t, id, q, metric, 0) > r) return 0;
    const node_t *nd = t->nodes + id;
    if (box_dist(t, id, q, metric, 1) <= r) return nd->end - nd->start;
    if (nd->left < 0) return leaf_count(t, nd->start, nd->end, q, r, metric);
    return count_rec(t, nd->left, q, r, metric) + count_rec(t, nd->right, q, r, metric);
}

/* ---- work sharing over blocks of leaf positions ---- */

typedef struct {
    const tree_t *t;
    int metric;
    int k;
    const double *radius; /* input order; counts only */
    double *out_d; /* knn: n * k, input order */
    int64_t *out_i; /* knn: n * k, or counts: n */
    int64_t next; /* next block, shared */
    pthread_mutex_t lock;
    int failed;
} job_t;

static int64_t take_block(job_t *job) {
    pthread_mutex_lock(&job->lock);
    int64_t b = job->next;
    job->next += BLOCK;
    pthread_mutex_unlock(&job->lock);
    return b;
}

static void *knn_worker(void *arg) {
    job_t *job = arg;
    const tree_t *t = job->t;
    const int k = job->k;
    double *bd = malloc((size_t)k * sizeof(double));
    int64_t *bi = malloc((size_t)k * sizeof(int64_t));
    if (!bd || !bi) { free(bd); free(bi); job->failed = 1; return NULL; }
    heap_t h = {k, bd, bi};
    for (;;) {
        int64_t s = take_block(job);
        if (s >= t->n) break;
        int64_t e = s + BLOCK < t->n ? s + BLOCK : t->n;
        for (int64_t pos = s; pos < e; pos++) {
            for (int i = 0; i < k; i++) { bd[i] = INFINITY; bi[i] = -1; }
            knn_rec(t, 0, t->pts + pos * t->d, pos, &h, job->metric);
            int64_t row = t->perm[pos];
            for (int i = 0; i < k; i++) {
                double v = bd[i];
                job->out_d[row * k + i] = job->metric == METRIC_L2 ? sqrt(v) : v;
                job->out_i[row * k + i] = bi[i] >= 0 ? t->perm[bi[i]] : -1;
            }
        }
    }
    free(bd); free(bi);
    return NULL;
}

static void *count_worker(void *arg) {
    job_t *job = arg;
    const tree_t *t = job->t;
    for (;;) {
        int64_t s = take_block(job);
        if (s >= t->n) break;
        int64_t e = s + BLOCK < t->n ? s + BLOCK : t->n;
        for (int64_t pos = s; pos < e; pos++) {
            int64_t row = t->perm[pos];
            double r = job->radius[row];
            if (job->metric == METRIC_L2) r = r * r;
            /* the point itself is at distance 0 <= r and is not counted */
            job->out_i[row] = count_rec(t, 0, t->pts + pos * t->d, r, job->metric) - 1;
        }
    }
    return NULL;
}

static int run_threads(job_t *job, void *(*fn)(void *), int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads == 1) { fn(job); return job->failed ? -1 : 0; }
    pthread_t *th = malloc((size_t)n_threads * sizeof(pthread_t));
    if (!th) return -1;
    int started = 0;
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&th[i], NULL, fn, job) != 0) break;
        started++;
    }
    if (started == 0) fn(job); /* could not start any thread: do it here */
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
    return job->failed ? -1 : 0;
}

/* k nearest other points of every point: distances (n, k) ascending, input indices. */
int mi_knn(const double *pts, int64_t n, int d, int k, int metric, int leafsize,
           int n_threads, double *out_d, int64_t *out_i) {
    tree_t t;
    if (make_tree(&t, pts, n, d, leafsize) != 0) return -1;
    job_t job;
    memset(&job, 0, sizeof(job));
    job.t = &t; job.metric = metric; job.k = k; job.out_d = out_d; job.out_i = out_i;
    pthread_mutex_init(&job.lock, NULL);
    int rc = run_threads(&job, knn_worker, n_threads);
    pthread_mutex_destroy(&job.lock);
    free_tree(&t);
    return rc;
}

/* Number of other points within distance <= radius[i] of point i. */
int mi_count(const double *pts, int64_t n, int d, const double *radius, int metric,
             int leafsize, int n_threads, int64_t *out_c) {
    tree_t t;
    if (make_tree(&t, pts, n, d, leafsize) != 0) return -1;
    job_t job;
    memset(&job, 0, sizeof(job));
    job.t = &t; job.metric = metric; job.radius = radius; job.out_i = out_c;
    pthread_mutex_init(&job.lock, NULL);
    int rc = run_threads(&job, count_worker, n_threads);
    pthread_mutex_destroy(&job.lock);
    free_tree(&t);
    return rc;
}
