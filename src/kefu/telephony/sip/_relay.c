/* RTP relay for bridged calls: one native thread moves packets between two legs' sockets.
 *
 * Why C: at a few hundred calls the switch's Python event loop spent about half of the
 * interpreter lock on receiving and re-sending RTP of plainly bridged calls, and audio of
 * every call stalled whenever the loop or the core thread was busy. Here a thread that never
 * takes the interpreter lock does exactly what `RtpEndpoint.datagram_received` and
 * `RtpEndpoint.forward` do for a bridged call (source check, RTCP drop, header parse, our own
 * SSRC / sequence / re-based timestamp, μ-law <-> A-law), and queues what Python still needs:
 * the payloads for the recorder and the RFC 4733 (DTMF) packets. Python takes a call back
 * (`remove`) before it does anything else with its media, so only one side ever sends.
 *
 * A path is one direction: packets arriving on fd_in from src go out of fd_out to dst.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 16384
#define MAX_PKT 2048
#define REC_CAP (1 << 20)  /* bytes of queued recorder payloads per path before dropping */
#define EXC_CAP (1 << 16)  /* bytes of queued DTMF packets per path */
#define REC_HDR 11         /* double time, uint8 pt, uint16 length */

typedef struct {
    unsigned char *data;
    size_t len, cap;
} buf_t;

typedef struct {
    int used;
    uint32_t gen;
    int fd_in, fd_out;
    struct sockaddr_in src, dst;
    int out_pt, dtmf_pt, record;
    int notify_fd; /* written to when a DTMF packet is queued (-1: none) */
    uint32_t ssrc, ts, offset, src_ssrc;
    uint16_t seq;
    int fresh;
    double last_rx;
    uint64_t rx, tx, ignored, rtcp, dropped;
    buf_t rec, exc;
} path_t;

static path_t *paths;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1;
static pthread_t thread;
static uint32_t next_gen = 1;
static unsigned char ulaw_to_alaw[256], alaw_to_ulaw[256];
static int have_tables = 0;
static uint64_t total_forwarded = 0;

static double now_monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int buf_put(buf_t *b, size_t cap, const void *head, size_t hn, const void *body,
                   size_t bn) {
    size_t need = b->len + hn + bn;
    if (need > cap) return 0;
    if (need > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < need) ncap *= 2;
        unsigned char *nd = realloc(b->data, ncap);
        if (nd == NULL) return 0;
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, head, hn);
    memcpy(b->data + b->len + hn, body, bn);
    b->len = need;
    return 1;
}

static void buf_free(buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static uint32_t be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* One received datagram on path p (the mutex is held). Mirrors RtpEndpoint. */
static void handle(path_t *p, const unsigned char *d, size_t n, const struct sockaddr_in *from,
                   double t) {
    if (from->sin_family != AF_INET || from->sin_port != p->src.sin_port ||
        from->sin_addr.s_addr != p->src.sin_addr.s_addr) {
        p->ignored++;
        return;
    }
    if (n >= 2 && d[1] >= 192 && d[1] <= 223) { /* RTCP on the RTP port (RFC 5761 4) */
        p->rtcp++;
        return;
    }
    if (n < 12 || (d[0] >> 6) != 2) {
        p->ignored++;
        return;
    }
    size_t off = 12 + 4 * (size_t)(d[0] & 0x0F);
    if (d[0] & 0x10) { /* header extension */
        if (n < off + 4) {
            p->ignored++;
            return;
        }
        off += 4 + 4 * (size_t)((d[off + 2] << 8) | d[off + 3]);
    }
    size_t end = n;
    if (d[0] & 0x20) { /* padding */
        if (d[n - 1] > n) {
            p->ignored++;
            return;
        }
        end -= d[n - 1];
    }
    if (off > end) {
        p->ignored++;
        return;
    }
    int pt = d[1] & 0x7F;
    int marker = d[1] & 0x80;
    p->last_rx = t;
    p->rx++;
    if (pt != 0 && pt != 8) {
        if (pt == p->dtmf_pt) {
            uint16_t len = (uint16_t)n;
            if (!buf_put(&p->exc, EXC_CAP, &len, sizeof len, d, n))
                p->dropped++;
            else if (p->notify_fd >= 0) {
                unsigned char one = 1;
                ssize_t w = write(p->notify_fd, &one, 1); /* full pipe: already woken */
                (void)w;
            }
        }
        return; /* anything else is not audio we carry: Python drops it too */
    }
    const unsigned char *pl = d + off;
    size_t pn = end - off;
    if (p->record) {
        unsigned char hdr[REC_HDR];
        uint16_t len = (uint16_t)pn;
        memcpy(hdr, &t, sizeof t);
        hdr[8] = (unsigned char)pt;
        memcpy(hdr + 9, &len, sizeof len);
        if (!buf_put(&p->rec, REC_CAP, hdr, REC_HDR, pl, pn)) p->dropped++;
    }
    uint32_t ts = be32(d + 4), ssrc = be32(d + 8);
    if (p->fresh || ssrc != p->src_ssrc) {
        p->offset = p->ts - ts;
        p->src_ssrc = ssrc;
        p->fresh = 0;
        marker = 0x80;
    }
    uint32_t ots = ts + p->offset;
    unsigned char out[MAX_PKT];
    if (12 + pn > sizeof out) {
        p->ignored++;
        return;
    }
    p->seq++;
    out[0] = 0x80;
    out[1] = (unsigned char)(p->out_pt | (marker ? 0x80 : 0));
    out[2] = p->seq >> 8;
    out[3] = p->seq & 0xFF;
    put32(out + 4, ots);
    put32(out + 8, p->ssrc);
    if (pt == p->out_pt || !have_tables) {
        memcpy(out + 12, pl, pn);
    } else {
        const unsigned char *tab = pt == 0 ? ulaw_to_alaw : alaw_to_ulaw;
        for (size_t i = 0; i < pn; i++) out[12 + i] = tab[pl[i]];
    }
    sendto(p->fd_out, out, 12 + pn, MSG_DONTWAIT, (const struct sockaddr *)&p->dst,
           sizeof p->dst);
    p->tx++;
    total_forwarded++;
    p->ts = ots + 160;
}

static void *run(void *arg) {
    (void)arg;
    struct epoll_event evs[128];
    unsigned char pkt[MAX_PKT];
    for (;;) {
        int n = epoll_wait(epfd, evs, 128, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        pthread_mutex_lock(&mu);
        double t = now_monotonic();
        for (int i = 0; i < n; i++) {
            uint64_t key = evs[i].data.u64;
            uint32_t idx = (uint32_t)(key & 0xFFFFFFFFu), gen = (uint32_t)(key >> 32);
            if (idx >= MAX_PATHS) continue;
            path_t *p = &paths[idx];
            if (!p->used || p->gen != gen) continue; /* removed since epoll_wait returned */
            for (int k = 0; k < 32; k++) { /* bounded: other paths get their turn */
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t r = recvfrom(p->fd_in, pkt, sizeof pkt, MSG_DONTWAIT,
                                     (struct sockaddr *)&from, &fl);
                if (r < 0) break;
                handle(p, pkt, (size_t)r, &from, t);
            }
        }
        pthread_mutex_unlock(&mu);
    }
}

static int ensure_started(void) {
    if (epfd >= 0) return 0;
    paths = calloc(MAX_PATHS, sizeof(path_t));
    if (paths == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, run, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        PyErr_SetFromErrno(PyExc_OSError);
        close(epfd);
        epfd = -1;
        return -1;
    }
    return 0;
}

static int parse_addr(const char *host, int port, struct sockaddr_in *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        PyErr_Format(PyExc_ValueError, "not an IPv4 address and port: %s:%d", host, port);
        return -1;
    }
    return 0;
}

static path_t *lookup(unsigned long long key) {
    uint32_t idx = (uint32_t)(key & 0xFFFFFFFFu), gen = (uint32_t)(key >> 32);
    if (idx >= MAX_PATHS || paths == NULL || !paths[idx].used || paths[idx].gen != gen) {
        PyErr_Format(PyExc_KeyError, "no relay path %llu", key);
        return NULL;
    }
    return &paths[idx];
}

PyDoc_STRVAR(add_doc,
             "add(fd_in, src_host, src_port, fd_out, dst_host, dst_port, out_pt, dtmf_pt,\n"
             "    record, ssrc, seq, ts, offset, src_ssrc, fresh, notify_fd) -> key\n\n"
             "Relay RTP arriving on fd_in from src to dst through fd_out; a byte is written\n"
             "to notify_fd (non-blocking, or -1) whenever a DTMF packet is queued.");

static PyObject *relay_add(PyObject *self, PyObject *args) {
    (void)self;
    int fd_in, src_port, fd_out, dst_port, out_pt, dtmf_pt, record, fresh, notify_fd;
    const char *src_host, *dst_host;
    unsigned int ssrc, seq, ts, offset, src_ssrc;
    if (!PyArg_ParseTuple(args, "isiisiiipIIIIIpi", &fd_in, &src_host, &src_port, &fd_out,
                          &dst_host, &dst_port, &out_pt, &dtmf_pt, &record, &ssrc, &seq, &ts,
                          &offset, &src_ssrc, &fresh, &notify_fd))
        return NULL;
    if (out_pt != 0 && out_pt != 8) {
        PyErr_Format(PyExc_ValueError, "out_pt must be 0 (PCMU) or 8 (PCMA), not %d", out_pt);
        return NULL;
    }
    struct sockaddr_in src, dst;
    if (parse_addr(src_host, src_port, &src) < 0 || parse_addr(dst_host, dst_port, &dst) < 0)
        return NULL;
    if (ensure_started() < 0) return NULL;
    pthread_mutex_lock(&mu);
    int idx = -1;
    for (int i = 0; i < MAX_PATHS; i++)
        if (!paths[i].used) {
            idx = i;
            break;
        }
    if (idx < 0) {
        pthread_mutex_unlock(&mu);
        PyErr_SetString(PyExc_OverflowError, "relay is full");
        return NULL;
    }
    path_t *p = &paths[idx];
    memset(p, 0, sizeof *p);
    p->gen = next_gen++;
    p->fd_in = fd_in;
    p->fd_out = fd_out;
    p->src = src;
    p->dst = dst;
    p->out_pt = out_pt;
    p->dtmf_pt = dtmf_pt;
    p->record = record;
    p->ssrc = ssrc;
    p->seq = (uint16_t)seq;
    p->ts = ts;
    p->offset = offset;
    p->src_ssrc = src_ssrc;
    p->fresh = fresh;
    p->notify_fd = notify_fd;
    uint64_t key = ((uint64_t)p->gen << 32) | (uint32_t)idx;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd_in, &ev) < 0) {
        int e = errno;
        pthread_mutex_unlock(&mu);
        errno = e;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    p->used = 1;
    pthread_mutex_unlock(&mu);
    return PyLong_FromUnsignedLongLong(key);
}

/* The queued data and counters of p as a tuple; resets them (the mutex is held). */
static PyObject *take(path_t *p) {
    /* the recorder's records as one bytes object: Python reads them with numpy */
    PyObject *rec = PyBytes_FromStringAndSize((const char *)p->rec.data, (Py_ssize_t)p->rec.len);
    PyObject *exc = PyList_New(0);
    if (rec == NULL || exc == NULL) goto fail;
    for (size_t o = 0; o + 2 <= p->exc.len;) {
        uint16_t len;
        memcpy(&len, p->exc.data + o, sizeof len);
        PyObject *item = PyBytes_FromStringAndSize((const char *)p->exc.data + o + 2, len);
        if (item == NULL || PyList_Append(exc, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
        o += 2 + len;
    }
    PyObject *out = Py_BuildValue("(NNdKKKKK)", rec, exc, p->last_rx,
                                  (unsigned long long)p->rx, (unsigned long long)p->tx,
                                  (unsigned long long)p->ignored, (unsigned long long)p->rtcp,
                                  (unsigned long long)p->dropped);
    p->rec.len = p->exc.len = 0;
    p->rx = p->tx = p->ignored = p->rtcp = p->dropped = 0;
    return out;
fail:
    Py_XDECREF(rec);
    Py_XDECREF(exc);
    return NULL;
}

PyDoc_STRVAR(drain_doc,
             "drain(key) -> (recorded, dtmf, last_rx, rx, tx, ignored, rtcp, dropped)\n\n"
             "recorded: records of (double monotonic time, uint8 pt, uint16 length, payload),\n"
             "native byte order, packed; dtmf: [raw RTP packet]; counts since the last drain.");

static PyObject *relay_drain(PyObject *self, PyObject *arg) {
    (void)self;
    unsigned long long key = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) return NULL;
    pthread_mutex_lock(&mu);
    path_t *p = lookup(key);
    PyObject *out = p == NULL ? NULL : take(p);
    pthread_mutex_unlock(&mu);
    return out;
}

PyDoc_STRVAR(remove_doc,
             "remove(key) -> (drain(key), (seq, ts, offset, src_ssrc, fresh))\n\n"
             "Stop relaying; the sending state goes back to the caller.");

static PyObject *relay_remove(PyObject *self, PyObject *arg) {
    (void)self;
    unsigned long long key = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) return NULL;
    pthread_mutex_lock(&mu);
    path_t *p = lookup(key);
    if (p == NULL) {
        pthread_mutex_unlock(&mu);
        return NULL;
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd_in, NULL); /* fails only if already closed */
    PyObject *rest = take(p);
    PyObject *out = NULL;
    if (rest != NULL)
        out = Py_BuildValue("(N(IIIIi))", rest, (unsigned int)p->seq, p->ts, p->offset,
                            p->src_ssrc, p->fresh);
    buf_free(&p->rec);
    buf_free(&p->exc);
    p->used = 0;
    pthread_mutex_unlock(&mu);
    return out;
}

PyDoc_STRVAR(set_tables_doc, "set_tables(ulaw_to_alaw, alaw_to_ulaw): 256-byte maps.");

static PyObject *relay_set_tables(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer u2a, a2u;
    if (!PyArg_ParseTuple(args, "y*y*", &u2a, &a2u)) return NULL;
    if (u2a.len != 256 || a2u.len != 256) {
        PyBuffer_Release(&u2a);
        PyBuffer_Release(&a2u);
        PyErr_SetString(PyExc_ValueError, "each table must be 256 bytes");
        return NULL;
    }
    pthread_mutex_lock(&mu);
    memcpy(ulaw_to_alaw, u2a.buf, 256);
    memcpy(alaw_to_ulaw, a2u.buf, 256);
    have_tables = 1;
    pthread_mutex_unlock(&mu);
    PyBuffer_Release(&u2a);
    PyBuffer_Release(&a2u);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(stats_doc, "stats() -> (paths in use, packets forwarded since start)");

static PyObject *relay_stats(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    long used = 0;
    unsigned long long fwd;
    pthread_mutex_lock(&mu);
    if (paths != NULL)
        for (int i = 0; i < MAX_PATHS; i++) used += paths[i].used;
    fwd = total_forwarded;
    pthread_mutex_unlock(&mu);
    return Py_BuildValue("(lK)", used, fwd);
}

static PyMethodDef methods[] = {
    {"add", relay_add, METH_VARARGS, add_doc},
    {"drain", relay_drain, METH_O, drain_doc},
    {"remove", relay_remove, METH_O, remove_doc},
    {"set_tables", relay_set_tables, METH_VARARGS, set_tables_doc},
    {"stats", relay_stats, METH_NOARGS, stats_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_relay", "Native RTP relay for bridged calls.", -1, methods,
};

PyMODINIT_FUNC PyInit__relay(void) { return PyModule_Create(&module); }
